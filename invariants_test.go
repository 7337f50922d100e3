package adsync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/source/sourcetest"
)

// flightStore measures the writes in flight.
type flightStore struct {
	*contacts.Memory
	mu        sync.Mutex
	cur, peak int
}

func (f *flightStore) enter() {
	f.mu.Lock()
	f.cur++
	f.peak = max(f.peak, f.cur)
	f.mu.Unlock()
	time.Sleep(50 * time.Microsecond) // let writes overlap
}

func (f *flightStore) leave() { f.mu.Lock(); f.cur--; f.mu.Unlock() }

func (f *flightStore) Create(ctx context.Context, c adsync.NewContact) (int64, error) {
	f.enter()
	defer f.leave()
	return f.Memory.Create(ctx, c)
}

func (f *flightStore) Update(ctx context.Context, u adsync.ContactUpdate) error {
	f.enter()
	defer f.leave()
	return f.Memory.Update(ctx, u)
}

// batchHistory records the sizes of link saves and change logs.
type batchHistory struct {
	adsync.HistoryStore
	mu      sync.Mutex
	sizes   []int
	changes []int
}

func (b *batchHistory) PutLinks(ctx context.Context, org string, ls []adsync.Link) error {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(ls))
	b.mu.Unlock()
	return b.HistoryStore.PutLinks(ctx, org, ls)
}

func (b *batchHistory) PutChanges(ctx context.Context, org string, run int64, cs []adsync.ChangeRecord, ls []adsync.Link) error {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(ls))
	b.changes = append(b.changes, len(cs))
	b.mu.Unlock()
	return b.HistoryStore.PutChanges(ctx, org, run, cs, ls)
}

func (b *batchHistory) PutOutcomes(ctx context.Context, org string, run int64, w adsync.Written, cs []adsync.ChangeRecord, ls []adsync.Link) error {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(ls))
	b.changes = append(b.changes, len(cs))
	b.mu.Unlock()
	return b.HistoryStore.PutOutcomes(ctx, org, run, w, cs, ls)
}

func TestApplyInBatchesWithBoundedConcurrency(t *testing.T) {
	var bh *batchHistory
	var progress []adsync.Progress
	e := newEnv(t,
		withStore(func(m *contacts.Memory) adsync.ContactStore { return &flightStore{Memory: m} }),
		withSyncerOptions(func(o *adsync.Options) {
			bh = &batchHistory{HistoryStore: o.History}
			o.History = bh
			o.Progress = func(p adsync.Progress) { progress = append(progress, p) }
		}))
	for i := range 1200 {
		e.src.Put(user(fmt.Sprintf("u%04d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
	}
	run := e.mustSync()
	assert.Equal(t, 1200, run.Counts.Created)
	fs := e.storeIf.(*flightStore)
	assert.LessOrEqual(t, fs.peak, adsync.DefaultWriteConcurrency, "never more than 3 writes in flight")
	assert.Greater(t, fs.peak, 1, "writes do run concurrently")
	// Each batch journals its creates, then saves its links: 500, 500, 200,
	// with their change log records; creates are logged once, after (their
	// journal entries stand for them before, R-RUN-7).
	assert.Equal(t, []int{500, 500, 500, 500, 200, 200}, bh.sizes)
	assert.Equal(t, []int{0, 500, 0, 500, 0, 200}, bh.changes)

	// The two reads run at once, then planning, then applying.
	var phases []adsync.Phase
	reads := map[adsync.Phase]bool{}
	for _, p := range progress {
		if p.Phase == adsync.PhaseReadDirectory || p.Phase == adsync.PhaseReadContacts {
			require.Empty(t, phases, "reads come first")
			reads[p.Phase] = true
			continue
		}
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}
	assert.Equal(t, map[adsync.Phase]bool{adsync.PhaseReadDirectory: true, adsync.PhaseReadContacts: true}, reads)
	assert.Equal(t, []adsync.Phase{adsync.PhasePlan, adsync.PhaseApply}, phases)
	last := progress[len(progress)-1]
	assert.Equal(t, adsync.Progress{OrgID: "contoso", Phase: adsync.PhaseApply, Done: 1200, Total: 1200}, last)
}

func TestAPICallsPerRun(t *testing.T) {
	e := newEnv(t)
	for i := range 1000 {
		e.src.Put(user(fmt.Sprintf("u%04d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
	}
	e.mustSync()
	for i := range 10 {
		e.src.Put(with(user(fmt.Sprintf("u%04d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)), adsync.City, "Oslo"))
	}
	before := e.store.Counts()
	run := e.mustSync()
	after := e.store.Counts()
	// ⌈contacts/500⌉ reads + one call per changed contact + a constant
	// (check, countries): docs/design.md "Performance targets".
	assert.Equal(t, int64(2), after.Reads-before.Reads)
	assert.Equal(t, int64(10), after.Writes()-before.Writes())
	assert.Equal(t, int64(2+10+2), run.APICalls)
}

func TestGracefulStopFinishesTheBatchInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	e := newEnv(t, withSyncerOptions(func(o *adsync.Options) {
		o.Progress = func(p adsync.Progress) {
			if p.Phase == adsync.PhaseApply && p.Done > 0 {
				once.Do(cancel) // stop after the first batch
			}
		}
	}))
	for i := range 1200 {
		e.src.Put(user(fmt.Sprintf("u%04d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
	}
	run, err := e.syncer.Sync(ctx, e.org, adsync.TriggerScheduled)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, adsync.StatusInterrupted, run.Status)
	assert.Equal(t, 500, run.Counts.Created, "the batch in flight finished")
	got, err := e.hist.Run(e.ctx, "contoso", run.ID)
	require.NoError(t, err)
	assert.Equal(t, adsync.StatusInterrupted, got.Status, "the run is recorded")
	assert.Len(t, e.links(), 500, "its links are saved")

	run = e.mustSync()
	assert.Equal(t, 700, run.Counts.Created, "the next run converges")
	assert.Len(t, e.contacts(), 1200)
}

func TestIncrementalReads(t *testing.T) {
	e := newEnv(t, withConfig(func(c *adsync.OrgConfig) { c.FullReadEvery = 7 * 24 * time.Hour }))
	for i := range 20 {
		e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
	}
	run := e.mustSync()
	require.True(t, run.FullRead, "the first read is full")
	require.NotEmpty(t, run.Cursor)

	e.src.Put(with(user("u01", "A", "B1", "u1@x.example"), adsync.City, "Oslo"))
	e.src.Remove("u02")
	run = e.mustSync()
	assert.False(t, run.FullRead)
	assert.Equal(t, 1, run.Counts.Read, "only the changed user is read")
	assert.Equal(t, 1, run.Counts.Updated)
	assert.Zero(t, run.Counts.Deactivated, "R-DEACT-3 no deactivation without a full read")

	require.NoError(t, e.src.SetEnabled("u03", false))
	run = e.mustSync()
	assert.False(t, run.FullRead)
	assert.Equal(t, 1, run.Counts.Deactivated, "R-SCOPE-8 a user the incremental read delivers disabled is deactivated at once")
	assert.False(t, e.contact(e.links()["u03"].ContactID).Active)

	e.src.ExpireCursors()
	run = e.mustSync()
	assert.True(t, run.FullRead, "an expired cursor falls back to a full read")
	assert.Equal(t, 1, run.Counts.Deactivated)

	e.clock.Advance(8 * 24 * time.Hour)
	run = e.mustSync()
	assert.True(t, run.FullRead, "full again once the last full read is older than FullReadEvery")
}

func TestStatusTable(t *testing.T) {
	e := newEnv(t, withConfig(func(c *adsync.OrgConfig) { c.BillingProductID = 5; c.Name = "Contoso" }))
	e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"),
		user("u3", "Cy", "Oh", "dup@x.example"), user("u4", "Di", "Ng", "dup@x.example"))
	e.mustSync()
	e.src.Remove("u1")
	last := e.mustSync()
	disabled := adsync.OrgConfig{ID: "off", CompanyID: 7, Directory: adsync.DirectoryAzure}
	st, err := e.syncer.Status(e.ctx, []adsync.OrgConfig{e.org.Config, disabled})
	require.NoError(t, err)
	require.Len(t, st, 2)
	s := st[0]
	assert.Equal(t, "contoso", s.OrgID)
	assert.True(t, s.Enabled)
	assert.Equal(t, adsync.DirectoryLDAP, s.Directory)
	assert.Equal(t, 1, s.ActiveLinkedUsers, "R-STATUS-1 u1 was deactivated")
	assert.Equal(t, 2, s.OpenConflicts)
	assert.Equal(t, adsync.TLSNotApplicable, s.TLS)
	assert.True(t, s.LastAttempt.Equal(last.Started))
	assert.Equal(t, int64(5), s.BillingProductID)
	require.Len(t, s.Runs, 2)
	assert.Equal(t, last.ID, s.Runs[0].ID, "newest first")
	assert.False(t, st[1].Enabled)
	assert.Equal(t, adsync.TLSNotApplicable, st[1].TLS, "R-STATUS-2 Azure")
	assert.Empty(t, st[1].Runs)
}

func TestRunsAreLogged(t *testing.T) {
	var buf bytes.Buffer
	e := newEnv(t, withSyncerOptions(func(o *adsync.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	}))
	e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
	e.mustSync()
	out := buf.String()
	assert.Contains(t, out, "run started")
	assert.Contains(t, out, "org=contoso")
	assert.Contains(t, out, "run finished")
	assert.Contains(t, out, "status=succeeded")
}

func TestLostCreateResponseIsReconciled(t *testing.T) {
	e := newEnv(t)
	e.seed("Ann", "Lee", "a@x.example", true)
	e.seed("Ann", "Lee", "a@x.example", true)
	e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
	require.NoError(t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u1", Action: adsync.ResolveCreate}))
	e.store.LoseWhere(func(c contacts.Call) bool { return c.Method == contacts.MethodCreate })
	run, err := e.sync()
	require.ErrorIs(t, err, adsync.ErrUnavailable, "an unavailable service stops the run (R-RUN-6)")
	assert.Equal(t, adsync.StatusFailed, run.Status)
	assert.Len(t, e.contacts(), 3, "the contact was created all the same")
	assert.True(t, e.links()["u1"].Pending, "the create stays journaled")
	e.store.ClearFaults()
	run = e.mustSync()
	assert.Equal(t, 1, run.Counts.Created, "R-RUN-7 the run that finds the lost create counts it: no run did")
	assert.Len(t, e.contacts(), 3, "R-RUN-7 never created twice")
	l := e.links()["u1"]
	assert.False(t, l.Pending)
	assert.True(t, l.Created)
}

func TestWarningsAreBounded(t *testing.T) {
	e := newEnv(t)
	for i := range 1500 {
		e.src.Put(with(user(fmt.Sprintf("u%04d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)), adsync.CountryID, "Atlantis"))
	}
	p, err := e.syncer.Plan(e.ctx, e.org)
	require.NoError(t, err)
	require.Len(t, p.Warnings, 501, "500 listed, then one summary")
	last := p.Warnings[500]
	assert.Equal(t, "R-FIELD-6", last.Rule)
	assert.Equal(t, "1000 more warnings of this rule are not listed", last.Message)
	run := e.mustSync()
	assert.LessOrEqual(t, len(run.Warnings), adsync.MaxRunDetails)
	assert.Equal(t, 1500, run.Counts.Created)
}

// doublingSource delivers every page twice, as a buggy directory might.
type doublingSource struct{ m *sourcetest.Memory }

func (d doublingSource) Check(ctx context.Context) (adsync.ConnStatus, error) { return d.m.Check(ctx) }

func (d doublingSource) Users(ctx context.Context, page func([]adsync.User) error) error {
	return d.m.Users(ctx, func(us []adsync.User) error {
		cp := append([]adsync.User(nil), us...)
		if err := page(us); err != nil {
			return err
		}
		return page(cp)
	})
}

func TestDuplicateUsersAreIgnored(t *testing.T) {
	e := newEnv(t)
	e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"))
	e.org.Source = doublingSource{e.src}
	run := e.mustSync()
	assert.Equal(t, 2, run.Counts.Created, "R-LINK-1 one contact per user id")
	assert.Zero(t, run.Counts.Conflicts, "a repeated user is not its own R-CONF-1 duplicate")
	assert.True(t, hasWarning(run, "R-LINK-1"))
	assert.Len(t, e.contacts(), 2)
}

// barrierStore makes n runs meet in Check, so that they overlap.
type barrierStore struct {
	*contacts.Memory
	arrived chan struct{}
	n       int
}

func (b *barrierStore) Check(ctx context.Context, id int64) error {
	b.arrived <- struct{}{}
	for len(b.arrived) < b.n {
		time.Sleep(time.Millisecond)
	}
	return b.Memory.Check(ctx, id)
}

func TestAPICallsOfOverlappingRuns(t *testing.T) {
	orgUsers := func(src *sourcetest.Memory, n int) {
		for i := range n {
			src.Put(user(fmt.Sprintf("u%04d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
		}
	}
	// One run alone: the reference count.
	solo := newEnv(t)
	orgUsers(solo.src, 600)
	want := solo.mustSync().APICalls
	require.Positive(t, want)

	// Two organizations of the same shape at once, on one store.
	e := newEnv(t, withStore(func(m *contacts.Memory) adsync.ContactStore {
		return &barrierStore{Memory: m, arrived: make(chan struct{}, 2), n: 2}
	}))
	orgUsers(e.src, 600)
	other := sourcetest.NewMemory(nil)
	orgUsers(other, 600)
	orgB := adsync.Org{Source: other, Config: adsync.OrgConfig{ID: "fabrikam", CompanyID: otherCompany, Enabled: true}}
	runs := make([]adsync.Run, 2)
	var wg sync.WaitGroup
	for i, org := range []adsync.Org{e.org, orgB} {
		wg.Go(func() {
			var err error
			runs[i], err = e.syncer.Sync(e.ctx, org, adsync.TriggerScheduled)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, want, runs[0].APICalls, "R-RUN-4 a run counts its own API calls, not the other run's")
	assert.Equal(t, want, runs[1].APICalls)
	assert.Equal(t, e.store.APICalls(), runs[0].APICalls+runs[1].APICalls)
}

func TestReconciledCreateRetriesItsBillingProduct(t *testing.T) {
	e := newEnv(t, withConfig(func(c *adsync.OrgConfig) { c.BillingProductID = 42 }))
	e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
	e.store.LoseWhere(func(c contacts.Call) bool { return c.Method == contacts.MethodCreate })
	_, err := e.sync()
	require.ErrorIs(t, err, adsync.ErrUnavailable, "the create's response is lost: the run stops")
	require.True(t, e.links()["u1"].Pending)
	id := e.contacts()[0].ID
	assert.Empty(t, e.store.BillingProducts(id), "the crash came before the billing product")

	e.store.ClearFaults()
	e.store.FailWhere(func(c contacts.Call) error {
		if c.Method == contacts.MethodAssignBillingProduct {
			return fmt.Errorf("product inactive: %w", adsync.ErrValidation)
		}
		return nil
	})
	run := e.mustSync()
	assert.Equal(t, 1, run.Counts.FailedWrites, "R-FIELD-7 a failed assignment of a reconciled create is a failed write")
	assert.True(t, e.links()["u1"].Pending, "R-RUN-6 it stays journaled, to be tried again")

	e.store.ClearFaults()
	run = e.mustSync()
	assert.Zero(t, run.Counts.FailedWrites)
	assert.Equal(t, []int64{42}, e.store.BillingProducts(id), "R-FIELD-7 assigned by the next run")
	assert.False(t, e.links()["u1"].Pending)
	assert.Len(t, e.contacts(), 1, "R-RUN-7 never created twice")
}

// linksFail is a history whose Links fails, after the reads have started
// (the Syncer loads the links while it reads both ends).
type linksFail struct {
	adsync.HistoryStore
	err error
}

func (l linksFail) Links(context.Context, string) ([]adsync.Link, error) { return nil, l.err }

// The links load at the same time as the reads; their failure is the
// run's error, named as such, and nothing is written.
func TestLinksLoadFailureStopsTheRun(t *testing.T) {
	broken := errors.New("disk I/O error")
	e := newEnv(t, withSyncerOptions(func(o *adsync.Options) {
		o.History = linksFail{HistoryStore: o.History, err: broken}
	}))
	e.src.Put(user("u1", "Ann", "Lee", "ann@contoso.example"))
	_, err := e.sync()
	require.ErrorIs(t, err, broken)
	assert.Contains(t, err.Error(), `load the links of "contoso"`)
	assert.Empty(t, e.contacts(), "nothing written")
}
