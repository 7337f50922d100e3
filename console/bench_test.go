package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/console"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

// BenchmarkOrganizations renders the organizations page of an MSP with 500
// organizations, each with a full history of 10 runs, from the in-memory
// history: the cost of the console itself (status, filtering, template).
func BenchmarkOrganizations(b *testing.B) {
	for _, query := range []string{"/", "/?attention=1", "/?q=org-0042"} {
		b.Run(strings.TrimPrefix(query, "/"), func(b *testing.B) {
			h := manyOrgs(b, 500)
			req, _ := http.NewRequest(http.MethodGet, "/", nil)
			ck := record(h, req).Result().Cookies()
			require.Len(b, ck, 1)
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, query, nil)
				req.AddCookie(ck[0])
				rec := record(h, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
}

func manyOrgs(b *testing.B, n int) http.Handler {
	ctx := context.Background()
	at := autotasktest.NewServer(autotasktest.Options{})
	b.Cleanup(at.Close)
	cr := at.Credentials()
	store, err := autotask.New(autotask.Config{IntegrationCode: cr.IntegrationCode, Username: cr.Username, Secret: adsync.NewSecret(cr.Secret),
		ZoneLookupURL: at.ZoneLookupURL(), HTTPClient: at.Client()})
	require.NoError(b, err)
	hist := history.NewMemory()
	syncer, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil), Fields: merge.New})
	require.NoError(b, err)
	src := sourcetest.NewMemory(nil)
	orgs := make([]adsync.Org, n)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	statuses := []adsync.RunStatus{adsync.StatusSucceeded, adsync.StatusSucceeded, adsync.StatusHeld, adsync.StatusFailed}
	for i := range orgs {
		id := fmt.Sprintf("org-%04d", i)
		orgs[i] = adsync.Org{Source: src, Config: adsync.OrgConfig{ID: id, Name: fmt.Sprintf("Customer %d GmbH", i), CompanyID: int64(1000 + i),
			Enabled: i%10 != 0, Directory: adsync.DirectoryLDAP, BillingProductID: 7}}
		for k := range adsync.KeepRuns {
			r, err := hist.StartRun(ctx, adsync.Run{OrgID: id, Trigger: adsync.TriggerScheduled, Started: start.Add(time.Duration(k) * 24 * time.Hour),
				Status: adsync.StatusRunning})
			require.NoError(b, err)
			r.Status = statuses[(i+k)%len(statuses)]
			r.Ended = r.Started.Add(time.Minute)
			r.Counts = adsync.Counts{Read: 250, Unchanged: 240, Updated: 10}
			r.TLS = adsync.TLSOK
			require.NoError(b, hist.FinishRun(ctx, r))
		}
	}
	c, err := console.New(console.Options{Syncer: syncer, Orgs: console.StaticOrgs(orgs), Auth: console.Auth{NoAuth: true}})
	require.NoError(b, err)
	return c
}
