package autotask

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
	"github.com/stretchr/testify/require"
)

// syncEnv is one organization of n users, already linked to n contacts in
// the emulator, synced by the real Syncer through the Client.
type syncEnv struct {
	srv    *autotasktest.Server
	client *Client
	src    *sourcetest.Memory
	syncer *adsync.Syncer
	org    adsync.Org
	users  []adsync.User
}

func benchUser(i int) adsync.User {
	u := adsync.User{ID: fmt.Sprintf("u%05d", i), Enabled: true}
	u.Values[adsync.FirstName] = fmt.Sprintf("First%05d", i)
	u.Values[adsync.LastName] = fmt.Sprintf("Last%05d", i)
	u.Values[adsync.Email] = fmt.Sprintf("user%05d@contoso.example", i)
	u.Values[adsync.Title] = "Engineer"
	u.Values[adsync.City] = "Leeds"
	return u
}

func newSyncEnv(tb testing.TB, n int) *syncEnv {
	tb.Helper()
	// The budget is not what is measured here: a limit far above the
	// calls made keeps pacing out of the figures.
	srv := newEmulator(tb, autotasktest.Options{HourlyLimit: 100_000_000})
	co := srv.AddCompany("Contoso")
	e := &syncEnv{srv: srv, client: newTestClient(tb, srv, nil), src: sourcetest.NewMemory(nil)}
	for i := range n {
		u := benchUser(i)
		e.users = append(e.users, u)
		_, err := srv.SeedContact(co, autotasktest.Fields{"firstName": u.Values[adsync.FirstName],
			"lastName": u.Values[adsync.LastName], "emailAddress": u.Values[adsync.Email],
			"title": u.Values[adsync.Title], "city": u.Values[adsync.City]})
		require.NoError(tb, err)
	}
	e.src.Put(e.users...)
	e.org = adsync.Org{Config: adsync.OrgConfig{ID: "contoso", CompanyID: co, Enabled: true,
		Directory: adsync.DirectoryLDAP, Fields: []adsync.FieldSpec{{Field: adsync.Title}, {Field: adsync.City}}}, Source: e.src}
	s, err := adsync.NewSyncer(adsync.Options{Store: e.client, History: history.NewMemory(),
		Matcher: matcher.New(nil), Fields: merge.New})
	require.NoError(tb, err)
	e.syncer = s
	// The first run links every user to its contact by email.
	run, err := s.Sync(context.Background(), e.org, adsync.TriggerForced)
	require.NoError(tb, err)
	require.Equal(tb, 0, run.Counts.Created, "the first run links, it does not create")
	return e
}

// change edits the title of every 100th user (1 %), differently per round.
func (e *syncEnv) change(round int) int {
	n := 0
	for i := 0; i < len(e.users); i += 100 {
		u := e.users[i]
		u.Values[adsync.Title] = fmt.Sprintf("Engineer %d", round)
		e.src.Put(u)
		n++
	}
	return n
}

func (e *syncEnv) sync(tb testing.TB) adsync.Run {
	run, err := e.syncer.Sync(context.Background(), e.org, adsync.TriggerForced)
	require.NoError(tb, err)
	return run
}

// lowerBound is ⌈contacts/500⌉ reads plus one write per change.
func lowerBound(contacts, changes int) int { return (contacts+499)/500 + changes }

// TestSyncCallCount checks the target of docs/design.md: a run costs the reads of
// the contacts, one call per changed contact and a constant; a second run
// without change reads only.
func TestSyncCallCount(t *testing.T) {
	if testing.Short() {
		t.Skip("syncs 2,000 users twice")
	}
	const users = 2000
	e := newSyncEnv(t, users)
	changed := e.change(1)
	run := e.sync(t)
	require.Equal(t, changed, run.Counts.Updated)
	const constant = 5 // threshold reads, company check, countries
	require.LessOrEqual(t, run.APICalls, int64(lowerBound(users, changed)+constant),
		"calls of a run with %d of %d users changed", changed, users)
	e.srv.ResetRequests()
	again := e.sync(t)
	require.LessOrEqual(t, again.APICalls, int64(lowerBound(users, 0)+constant))
	require.Equal(t, 0, e.srv.CountRequests(http.MethodPatch, "")+e.srv.CountRequests(http.MethodPost, "/Contacts"),
		"a second run without change writes nothing")
}

// BenchmarkSync10kUsers1PctChanged syncs 10,000 linked users of which 1 %
// changed, through the Syncer, the Client and the emulator.
func BenchmarkSync10kUsers1PctChanged(b *testing.B) {
	const users = 10_000
	e := newSyncEnv(b, users)
	var calls, changes int64
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		changes += int64(e.change(round))
		b.StartTimer()
		run := e.sync(b)
		calls += run.APICalls
	}
	perRun := float64(calls) / float64(round)
	b.ReportMetric(perRun, "calls/run")
	b.ReportMetric(float64(lowerBound(users, int(changes)/round)), "bound-calls/run")
}

// BenchmarkNaive10kUsers1PctChanged is the pattern the sync avoids: one
// query per user to find its contact, then a PATCH per changed user.
func BenchmarkNaive10kUsers1PctChanged(b *testing.B) {
	const users = 10_000
	e := newSyncEnv(b, users)
	ctx := context.Background()
	co := e.org.Config.CompanyID
	var calls0 int64
	round := 0
	for b.Loop() {
		round++
		c0 := e.client.APICalls()
		for i, u := range e.users {
			var res struct {
				Items []wireContact `json:"items"`
			}
			q := queryBody{MaxRecords: 1, IncludeFields: includeFields(adsync.NewFieldSet(adsync.Title)), Filter: []filter{
				{Op: "eq", Field: "companyID", Value: co}, {Op: "eq", Field: "emailAddress", Value: u.Values[adsync.Email]}}}
			require.NoError(b, e.client.do(ctx, &request{method: http.MethodPost, path: "Contacts/query",
				endpoint: contactsEndpoint, body: q, out: &res, idempotent: true}))
			if i%100 == 0 && len(res.Items) == 1 {
				upd := adsync.ContactUpdate{ContactID: res.Items[0].ID, CompanyID: co, Fields: adsync.NewFieldSet(adsync.Title)}
				upd.Values[adsync.Title] = fmt.Sprintf("Naive %d", round)
				require.NoError(b, e.client.Update(ctx, upd))
			}
		}
		calls0 += e.client.APICalls() - c0
	}
	b.ReportMetric(float64(calls0)/float64(round), "calls/run")
	b.ReportMetric(float64(lowerBound(users, users/100)), "bound-calls/run")
}
