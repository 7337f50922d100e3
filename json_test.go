package adsync_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// The record types marshal with camelCase keys, as `plan --json` prints
// them, and a zero time is left out rather than 0001-01-01.
func TestRecordJSON(t *testing.T) {
	start := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		v    any
		has  []string
		not  []string
	}{
		{"R-RUN-4 a running run", adsync.Run{ID: 3, OrgID: "contoso", Started: start, Status: adsync.StatusRunning},
			[]string{`"id":3`, `"orgId":"contoso"`, `"started":"2026-11-02T03:00:00Z"`, `"counts":{`, `"failedWrites":0`}, []string{"ended", "0001-01-01", "OrgID"}},
		{"R-LINK-1 a link", adsync.Link{OrgID: "o", UserID: "u", ContactID: 9, Written: map[adsync.Field]string{adsync.Email: "a@x"}},
			[]string{`"userId":"u"`, `"contactId":9`, `"written":{"emailAddress":"a@x"}`}, []string{"linkedAt", "0001-01-01"}},
		{"R-CONF-5 a conflict", adsync.Conflict{OrgID: "o", UserID: "u", Kind: adsync.ConflictDuplicateEmail, FirstSeen: start},
			[]string{`"kind":"duplicate-email"`, `"firstSeen":"2026-11-02T03:00:00Z"`, `"rule":"R-CONF-1"`}, []string{"lastSeen"}},
		{"R-STATUS-1 a status row", adsync.OrgStatus{OrgID: "o", TLS: adsync.TLSUnknown},
			[]string{`"activeLinkedUsers":0`, `"tls":"unknown"`}, []string{"lastAttempt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			require.NoError(t, err)
			for _, s := range tc.has {
				assert.Contains(t, string(b), s)
			}
			for _, s := range tc.not {
				assert.NotContains(t, string(b), s)
			}
		})
	}
}
