package historytest

import (
	"cmp"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

// safetyTests run a Syncer over the store: the optional safety features
// keep their state in the history (the runs, the links, the exemptions),
// and each store must give a later run, or another process, what an
// earlier one left.
var safetyTests = []test{
	{"R-DEACT-6 the guard's window holds a slow leak",
		"RunStore.Runs: returns the kept runs with their Started and Counts.Deactivated, which the guard's window sums (R-DEACT-6): a leak of 20 % of the users per run, each run by a new Syncer, is held by the second run, and eight runs deactivate no more than the limit",
		testGuardWindow},
	{"R-DEACT-7 the grace period's clock survives restarts",
		"LinkStore.PutLinks: keeps Link.MissingSince, the grace period's clock (R-DEACT-7): a user out of scope is deactivated by the first run, of whichever process, that comes a grace period after the first run that missed it; a user back before is untouched and its clock starts afresh",
		testGrace},
	{"R-DEACT-9 exemptions put, replace and delete",
		"ExemptionStore.PutExemption: inserts or replaces the exemption of (organization, contact id) with every field (R-DEACT-9); Exemptions returns them with OrgID set and times in UTC; DeleteExemption removes it and returns adsync.ErrNotFound when there is none; other organizations are untouched",
		testExemptions},
	{"R-DEACT-9 an exempt contact is never deactivated",
		"ExemptionStore.Exemptions: returns the exemptions any Syncer over the store put (R-DEACT-9): one set by one Syncer keeps the contact of a user out of scope active in the runs of another one, and removing it lets the next run deactivate the contact",
		testExemptSync},
}

// syncEnv is one organization synced over a store under test, with a clock
// that moves only when told.
type syncEnv struct {
	t     *testing.T
	hist  adsync.HistoryStore
	store *contacts.Memory
	src   *sourcetest.Memory
	org   adsync.Org
	now   time.Time
}

const safetyCompany = 700

func newSyncEnv(t *testing.T, s adsync.HistoryStore, cfg func(*adsync.OrgConfig)) *syncEnv {
	e := &syncEnv{t: t, hist: s, src: sourcetest.NewMemory(nil), now: time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)}
	e.store = contacts.NewMemory(&contacts.MemoryOptions{Now: func() time.Time { return e.now }})
	e.store.AddCompany(safetyCompany, "Safety")
	e.org = adsync.Org{Config: adsync.OrgConfig{ID: "safety", CompanyID: safetyCompany, Enabled: true, Directory: adsync.DirectoryLDAP},
		Source: e.src}
	if cfg != nil {
		cfg(&e.org.Config)
	}
	return e
}

func (e *syncEnv) Now() time.Time { return e.now }

func (e *syncEnv) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	return make(chan time.Time), func() bool { return true }
}

// syncer is a new Syncer over the store, as a restarted process or another
// replica would make.
func (e *syncEnv) syncer() *adsync.Syncer {
	s, err := adsync.NewSyncer(adsync.Options{Store: e.store, History: e.hist, Matcher: matcher.New(nil), Fields: merge.New, Clock: e})
	require.NoError(e.t, err)
	return s
}

// sync advances the clock by d and runs once, with a new Syncer.
func (e *syncEnv) sync(d time.Duration) adsync.Run {
	e.t.Helper()
	e.now = e.now.Add(d)
	run, err := e.syncer().Sync(e.t.Context(), e.org, adsync.TriggerScheduled)
	require.NoError(e.t, err)
	return run
}

func syncUser(i int) adsync.User {
	u := adsync.User{ID: fmt.Sprintf("user-%03d", i), Enabled: true}
	u.Values[adsync.FirstName], u.Values[adsync.LastName] = "First", fmt.Sprintf("Last%03d", i)
	u.Values[adsync.Email] = fmt.Sprintf("user%03d@safety.example", i)
	return u
}

func testGuardWindow(t *testing.T, s adsync.HistoryStore) {
	e := newSyncEnv(t, s, func(c *adsync.OrgConfig) { c.Guard.Window = 7 * 24 * time.Hour })
	const n = 100
	for i := range n {
		e.src.Put(syncUser(i))
	}
	require.Equal(t, n, e.sync(time.Hour).Counts.Created)
	left, deactivated, held := n, 0, 0
	next := 0
	for range 8 {
		lose := left / 5 // 20 % of the users a run
		for range lose {
			e.src.Remove(syncUser(next).ID)
			next++
		}
		left -= lose
		run := e.sync(24 * time.Hour)
		deactivated += run.Counts.Deactivated
		if run.Status == adsync.StatusHeld {
			held++
		}
	}
	require.Positive(t, held, "the leak is held")
	require.LessOrEqual(t, deactivated, adsync.Guard{}.Limit(n), "eight runs deactivate no more than the limit of the window")
}

// link returns the organization's link of user id.
func (e *syncEnv) link(id string) adsync.Link {
	e.t.Helper()
	ls, err := e.hist.Links(e.t.Context(), e.org.Config.ID)
	require.NoError(e.t, err)
	for _, l := range ls {
		if l.UserID == id {
			return l
		}
	}
	e.t.Fatalf("no link for user %s", id)
	return adsync.Link{}
}

func testGrace(t *testing.T, s adsync.HistoryStore) {
	e := newSyncEnv(t, s, func(c *adsync.OrgConfig) { c.DeactivateAfter = 72 * time.Hour })
	for i := range 3 {
		e.src.Put(syncUser(i))
	}
	e.sync(time.Hour)
	gone, back := syncUser(0), syncUser(1)
	e.src.Remove(gone.ID, back.ID)
	writes := e.store.Counts().Writes()
	run := e.sync(time.Hour) // a new Syncer each run: a restart
	first := e.now
	require.Zero(t, run.Counts.Deactivated, "within the grace period")
	require.True(t, first.Equal(e.link(gone.ID).MissingSince), "the first missing time is kept")
	require.True(t, first.Equal(e.link(back.ID).MissingSince))

	e.src.Put(back)
	run = e.sync(24 * time.Hour)
	require.Zero(t, run.Counts.Deactivated+run.Counts.Reactivated+run.Counts.Updated)
	require.Equal(t, writes, e.store.Counts().Writes(), "no write while the users wait or return")
	require.True(t, e.link(back.ID).MissingSince.IsZero(), "a user back in scope starts afresh")
	require.True(t, first.Equal(e.link(gone.ID).MissingSince), "a user still missing keeps its first missing time")

	run = e.sync(47 * time.Hour) // 71 h after the first miss
	require.Zero(t, run.Counts.Deactivated, "not due yet")
	run = e.sync(time.Hour)
	require.Equal(t, 1, run.Counts.Deactivated, "due 72 h after the first miss")
	c, ok := e.store.Contact(e.link(gone.ID).ContactID)
	require.True(t, ok)
	require.False(t, c.Active)
	bc, _ := e.store.Contact(e.link(back.ID).ContactID)
	require.True(t, bc.Active)
}

func requireExemptions(t *testing.T, s adsync.HistoryStore, org string, want []adsync.Exemption, what string) {
	t.Helper()
	got, err := s.Exemptions(t.Context(), org)
	require.NoError(t, err, "Exemptions(%s)", org)
	requireSame(t, want, got, func(e *adsync.Exemption) *time.Time { return &e.CreatedAt },
		func(a, b adsync.Exemption) int { return cmp.Compare(a.ContactID, b.ContactID) }, what)
}

func testExemptions(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	a := adsync.Exemption{OrgID: "org-a", ContactID: 42, Reason: "the director's assistant", By: "admin@msp.test", CreatedAt: at(0)}
	b := adsync.Exemption{OrgID: "org-a", ContactID: 7, Reason: "shared billing", By: "Zoë", CreatedAt: at(time.Minute)}
	o := adsync.Exemption{OrgID: "org-b", ContactID: 42, CreatedAt: at(time.Hour)}
	requireAllSet(t, a)
	for _, e := range []adsync.Exemption{a, b, o} {
		require.NoError(t, s.PutExemption(ctx, e))
	}
	requireExemptions(t, s, "org-a", []adsync.Exemption{a, b}, "after three puts")
	a2 := a
	a2.Reason, a2.CreatedAt = "kept for the audit", at(2*time.Hour)
	require.NoError(t, s.PutExemption(ctx, a2))
	requireExemptions(t, s, "org-a", []adsync.Exemption{a2, b}, "after replacing contact 42's")
	require.NoError(t, s.DeleteExemption(ctx, "org-a", 42))
	requireExemptions(t, s, "org-a", []adsync.Exemption{b}, "after deleting contact 42's")
	require.ErrorIs(t, s.DeleteExemption(ctx, "org-a", 42), adsync.ErrNotFound, "deleting it again")
	require.ErrorIs(t, s.DeleteExemption(ctx, "org-c", 7), adsync.ErrNotFound, "deleting in an organization without exemptions")
	requireExemptions(t, s, "org-b", []adsync.Exemption{o}, "another organization's exemptions")
	requireExemptions(t, s, "org-none", nil, "an organization without exemptions")
}

func testExemptSync(t *testing.T, s adsync.HistoryStore) {
	e := newSyncEnv(t, s, nil)
	for i := range 3 {
		e.src.Put(syncUser(i))
	}
	e.sync(time.Hour)
	kept := e.link(syncUser(0).ID).ContactID
	require.NoError(t, e.syncer().Exempt(t.Context(), e.org.Config, adsync.Exemption{ContactID: kept, Reason: "assistant"}))
	e.src.Remove(syncUser(0).ID, syncUser(1).ID)
	run := e.sync(time.Hour)
	require.Equal(t, 1, run.Counts.Deactivated, "only the contact not exempt")
	c, _ := e.store.Contact(kept)
	require.True(t, c.Active, "the exempt contact stays active")

	require.NoError(t, e.syncer().Unexempt(t.Context(), e.org.Config.ID, kept))
	run = e.sync(time.Hour)
	require.Equal(t, 1, run.Counts.Deactivated, "deactivated once no longer exempt")
	c, _ = e.store.Contact(kept)
	require.False(t, c.Active)
}
