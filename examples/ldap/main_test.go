package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/source/ldap"
)

// The program against the project's Samba AD DC (scripts/services/samba.sh)
// and the Autotask emulator: it plans the sync of the seeded OU.
func TestRun(t *testing.T) {
	url, ou := os.Getenv("ADSYNC_LDAP_URL"), os.Getenv("ADSYNC_LDAP_SEED_OU")
	if ou == "" {
		ou = os.Getenv("ADSYNC_LDAP_BASE_DN") // a DC the tests did not seed
	}
	if url == "" {
		msg := "no Samba AD DC (ADSYNC_LDAP_URL): run ./scripts/test.sh"
		if os.Getenv("ADSYNC_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	at := autotasktest.NewServer(autotasktest.Options{})
	defer at.Close()
	cr := at.Credentials()
	s := settings{
		LDAP: ldap.Config{URL: url, BindName: os.Getenv("ADSYNC_LDAP_BIND_DN"), Password: adsync.NewSecret(os.Getenv("ADSYNC_LDAP_PASSWORD")),
			TLS: ldap.TLSConfig{CA: os.Getenv("ADSYNC_LDAP_CA"), Verify: ldap.VerifyChainOnly}, BaseDN: ou},
		Autotask:  autotask.Config{Username: cr.Username, IntegrationCode: cr.IntegrationCode, Secret: adsync.NewSecret(cr.Secret), ZoneLookupURL: at.ZoneLookupURL()},
		CompanyID: at.AddCompany("Corp"), DB: filepath.Join(t.TempDir(), "history.db"),
	}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, s))
	assert.Contains(t, out.String(), "TLS ok")
	assert.Regexp(t, `corp: [1-9][0-9]* users read`, out.String())
	assert.Empty(t, at.Contacts(s.CompanyID), "a plan writes nothing")
}
