package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/config"
)

// TestSafetyKeys: the settings of the optional safety features, with days
// as "7d" (R-DEACT-6, R-DEACT-7, R-DEACT-8, R-FIELD-9).
func TestSafetyKeys(t *testing.T) {
	env := func(k string) string { return map[string]string{"AT_SECRET": "at-secret"}[k] }
	text := strings.Replace(validLDAP, "    guard: {min: 5, percent: 10}\n",
		"    guard: {min: 5, percent: 10, window: 7d}\n    deactivateAfter: 72h\n    disabledAtOnce: true\n    autotaskEdits: keep\n", 1)
	cfg, err := config.Load(writeConfig(t, text, "https://webservices.autotask.net/atservicesrest/"), &config.Options{Getenv: env})
	require.NoError(t, err)
	c := cfg.Organizations[0].Config
	assert.Equal(t, adsync.Guard{Min: 5, Percent: 10, Window: 7 * 24 * time.Hour}, c.Guard, "R-DEACT-6")
	assert.Equal(t, 72*time.Hour, c.DeactivateAfter, "R-DEACT-7")
	assert.True(t, c.DisabledAtOnce, "R-DEACT-8")
	assert.Equal(t, adsync.EditsKeep, c.AutotaskEdits, "R-FIELD-9")

	for _, tc := range []struct{ name, from, to, want string }{
		{"R-DEACT-6 a window that is no duration", "    guard: {min: 5, percent: 10}\n", "    guard:\n      window: 7x\n", "orgs[0].guard.window: \"7x\" is not a number of days"},
		{"R-DEACT-7 a grace period that is no duration", "    billingProductId: 12\n", "    billingProductId: 12\n    deactivateAfter: soon\n", "orgs[0].deactivateAfter: \"soon\""},
		{"R-FIELD-9 an unknown mode", "    billingProductId: 12\n", "    billingProductId: 12\n    autotaskEdits: merge\n", "orgs[0].autotaskEdits: \"merge\" is not one of overwrite, keep, report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(writeConfig(t, strings.Replace(validLDAP, tc.from, tc.to, 1), "https://webservices.autotask.net/atservicesrest/"), &config.Options{Getenv: env})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
