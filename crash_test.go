package adsync_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
)

// errKilled is what a killed process's calls see.
var errKilled = errors.New("process killed")

// killSwitch simulates a process killed right after its n-th write, to
// Autotask or to the history: from then on every call of that process
// fails, and the response of the n-th write is lost. Calls already under
// way when it dies still reach the server, as in-flight requests do.
type killSwitch struct {
	after  int64 // kill after this many writes; 0: never
	writes atomic.Int64
	dead   atomic.Bool

	mu   sync.Mutex
	sent []sentWrite // the contact writes the server applied
}

// sentWrite is a contact write that reached Autotask: an update of a
// contact, or a create with its email.
type sentWrite struct {
	contactID int64
	email     string
}

func (k *killSwitch) sentWrite(w sentWrite) {
	k.mu.Lock()
	k.sent = append(k.sent, w)
	k.mu.Unlock()
}

func (k *killSwitch) before() error {
	if k.dead.Load() {
		return errKilled
	}
	return nil
}

// wrote counts a write that the server applied and reports whether the
// process died with it.
func (k *killSwitch) wrote() error {
	if n := k.writes.Add(1); k.after > 0 && n >= k.after {
		k.dead.Store(true)
		return errKilled
	}
	return k.before()
}

type killableStore struct {
	*contacts.Memory
	k *killSwitch
}

func (s *killableStore) Contacts(ctx context.Context, id int64, fs adsync.FieldSet, page func([]adsync.Contact) error) error {
	if err := s.k.before(); err != nil {
		return err
	}
	return s.Memory.Contacts(ctx, id, fs, page)
}

func (s *killableStore) Create(ctx context.Context, c adsync.NewContact) (int64, error) {
	if err := s.k.before(); err != nil {
		return 0, err
	}
	id, err := s.Memory.Create(ctx, c)
	if err != nil {
		return 0, err
	}
	s.k.sentWrite(sentWrite{email: c.Values[adsync.Email]})
	return id, s.k.wrote()
}

func (s *killableStore) Update(ctx context.Context, u adsync.ContactUpdate) error {
	if err := s.k.before(); err != nil {
		return err
	}
	if err := s.Memory.Update(ctx, u); err != nil {
		return err
	}
	s.k.sentWrite(sentWrite{contactID: u.ContactID})
	return s.k.wrote()
}

func (s *killableStore) AssignBillingProduct(ctx context.Context, c, p int64) error {
	if err := s.k.before(); err != nil {
		return err
	}
	if err := s.Memory.AssignBillingProduct(ctx, c, p); err != nil {
		return err
	}
	return s.k.wrote()
}

// killableHistory fails every call once the process is dead and counts its
// writes as kill points.
type killableHistory struct {
	adsync.HistoryStore
	k *killSwitch
}

func (h *killableHistory) do(write bool, f func() error) error {
	if err := h.k.before(); err != nil {
		return err
	}
	if err := f(); err != nil {
		return err
	}
	if write {
		return h.k.wrote()
	}
	return nil
}

func (h *killableHistory) StartRun(ctx context.Context, r adsync.Run) (adsync.Run, error) {
	var out adsync.Run
	err := h.do(true, func() (err error) { out, err = h.HistoryStore.StartRun(ctx, r); return err })
	return out, err
}
func (h *killableHistory) FinishRun(ctx context.Context, r adsync.Run) error {
	return h.do(true, func() error { return h.HistoryStore.FinishRun(ctx, r) })
}
func (h *killableHistory) PutLinks(ctx context.Context, org string, ls []adsync.Link) error {
	return h.do(true, func() error { return h.HistoryStore.PutLinks(ctx, org, ls) })
}
func (h *killableHistory) PutChanges(ctx context.Context, org string, run int64, cs []adsync.ChangeRecord, ls []adsync.Link) error {
	return h.do(true, func() error { return h.HistoryStore.PutChanges(ctx, org, run, cs, ls) })
}
func (h *killableHistory) PutOutcomes(ctx context.Context, org string, run int64, w adsync.Written, cs []adsync.ChangeRecord, ls []adsync.Link) error {
	return h.do(true, func() error { return h.HistoryStore.PutOutcomes(ctx, org, run, w, cs, ls) })
}
func (h *killableHistory) DeleteLinks(ctx context.Context, org string, ids []string) error {
	return h.do(true, func() error { return h.HistoryStore.DeleteLinks(ctx, org, ids) })
}
func (h *killableHistory) ReplaceConflicts(ctx context.Context, org string, cs []adsync.Conflict) error {
	return h.do(true, func() error { return h.HistoryStore.ReplaceConflicts(ctx, org, cs) })
}
func (h *killableHistory) Links(ctx context.Context, org string) ([]adsync.Link, error) {
	var out []adsync.Link
	err := h.do(false, func() (err error) { out, err = h.HistoryStore.Links(ctx, org); return err })
	return out, err
}

// crashScenario is a few dozen users over two runs: the first creates,
// links by email and by name, reactivates and reports conflicts; the second
// updates, deactivates, reactivates and creates.
type crashScenario struct{ e *env }

func newCrashScenario(t *testing.T) *crashScenario {
	// Small batches: a kill falls between batches too, where one batch's
	// last save logs the next one's changes.
	e := newEnv(t, withConfig(func(c *adsync.OrgConfig) { c.BillingProductID = 9 }),
		withSyncerOptions(func(o *adsync.Options) { o.BatchSize = 4 }))
	for i := range 8 { // matched by email, two of them inactive
		e.seed(fmt.Sprint("Old", i), fmt.Sprint("Name", i), fmt.Sprintf("u%02d@x.example", i), i >= 6)
	}
	e.seed("Nina", "Named", "", true)               // matched by name
	e.seed("Dup", "Contact", "dup@x.example", true) // R-CONF-3 with the next
	e.seed("Dup", "Contact", "dup@x.example", true)
	e.seed("Never", "Synced", "never@x.example", true) // not ours: never touched
	for i := range 30 {
		u := with(user(fmt.Sprintf("u%02d", i), fmt.Sprint("First", i), fmt.Sprint("Last", i), fmt.Sprintf("u%02d@x.example", i)), adsync.Title, "Engineer")
		e.src.Put(u)
	}
	e.src.Put(user("n1", "Nina", "Named", ""), user("d1", "Dup", "Contact", "dup@x.example"), user("d2", "Dup", "Contact", "dup@x.example"))
	// An admin resolved d1's conflict by "create": only the create journal
	// keeps a crash from creating it twice, since matching cannot tell the
	// new contact from the two old ones (R-CONF-3).
	require.NoError(t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "d1", Action: adsync.ResolveCreate}))
	return &crashScenario{e: e}
}

// change is what happens in the directory between the two runs.
func (s *crashScenario) change() {
	e := s.e
	// u29's account is re-created as u29b: a run sees u29 out of scope,
	// and an admin maps u29b to its contact, which the next run takes over
	// (R-CONF-6), dropping u29's link before its writes.
	e.src.Remove("u29")
	e.src.Put(with(user("u29b", "First29", "Last29", "u29@x.example"), adsync.Title, "Engineer"))
	e.mustSync()
	require.NoError(e.t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u29b", Action: adsync.ResolveLink, ContactID: e.links()["u29"].ContactID}))
	for i := range 5 {
		e.src.Put(with(user(fmt.Sprintf("u%02d", i), fmt.Sprint("First", i), fmt.Sprint("Last", i), fmt.Sprintf("u%02d@x.example", i)), adsync.Title, "Manager"))
	}
	e.src.Remove("u10", "u11", "u12")
	for i := range 4 {
		e.src.Put(user(fmt.Sprintf("v%02d", i), fmt.Sprint("New", i), fmt.Sprint("Hire", i), fmt.Sprintf("v%02d@x.example", i)))
	}
	// Someone deletes u20's contact: the link is dropped and a contact
	// created again (R-LINK-4).
	require.True(e.t, e.store.Delete(e.links()["u20"].ContactID))
	// An admin moves u21 to another contact (R-CONF-6).
	target := e.seed("Chosen", "Contact", "chosen@x.example", false)
	require.NoError(e.t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u21", Action: adsync.ResolveLink, ContactID: target}))
}

// syncWith runs once as a process that dies after its n-th write (0:
// never), then once more as a fresh process, as a restart would.
func (s *crashScenario) syncWith(t *testing.T, n int64) (writes int64) {
	e := s.e
	k := &killSwitch{after: n}
	opts := e.opts
	opts.Store = &killableStore{Memory: e.store, k: k}
	opts.History = &killableHistory{HistoryStore: e.hist, k: k}
	dying, err := adsync.NewSyncer(opts)
	require.NoError(t, err)
	before := e.links()
	e.clock.Advance(time.Minute)
	_, err = dying.Sync(e.ctx, e.org, adsync.TriggerScheduled)
	if n == 0 || !k.dead.Load() {
		require.NoError(t, err)
		return k.writes.Load()
	}
	require.ErrorIs(t, err, errKilled)
	s.requireLogged(t, k, before)
	// The restart: a new process runs again, and finds the dead run
	// interrupted (R-RUN-7). It comes after the journal's grace: a create
	// journaled by the dead process may have been sent, and only a read
	// that starts that long after it shows it never happened.
	e.clock.Advance(adsync.DefaultJournalGrace)
	e.mustSync()
	runs, err := e.hist.Runs(e.ctx, e.org.Config.ID, 0)
	require.NoError(t, err)
	interrupted := 0
	for _, r := range runs {
		assert.NotEqual(t, adsync.StatusRunning, r.Status, "run %d", r.ID)
		if r.Status == adsync.StatusInterrupted {
			interrupted++
		}
	}
	// The dead run recorded its start (its first write); unless its end was
	// recorded too, the restart marked it interrupted.
	assert.LessOrEqual(t, interrupted, 1)
	if n < 3 {
		assert.Equal(t, adsync.StatusInterrupted, runs[1].Status, "the dead run is marked interrupted")
	}
	return k.writes.Load()
}

// requireLogged checks that every contact write the dead process made is
// in the change log, or its create in the create journal, with an outcome
// that does not deny it (written, or unknown): a crash never leaves a write
// nobody can account for (R-RUN-7). A link it dropped whose contact is
// still there (a take-over, R-CONF-6) is in a record's Unlinked, so that
// an undo can make it again.
func (s *crashScenario) requireLogged(t *testing.T, k *killSwitch, before map[string]adsync.Link) {
	e := s.e
	logged := map[int64]bool{}   // contacts with an update logged
	created := map[string]bool{} // emails of logged or journaled creates
	unlinked := map[string]int64{}
	for r, err := range e.syncer.AllChanges(e.ctx, e.org.Config.ID, adsync.ChangeFilter{Limit: 7}) {
		require.NoError(t, err)
		for _, l := range r.Unlinked {
			unlinked[l.UserID] = l.ContactID
		}
		if r.Outcome != adsync.OutcomeWritten && r.Outcome != adsync.OutcomeUnknown {
			continue
		}
		if r.Kind != adsync.ChangeCreate {
			logged[r.ContactID] = true
			continue
		}
		for _, f := range r.Fields {
			if f.Field == adsync.Email {
				created[strings.ToLower(f.After)] = true
			}
		}
	}
	for _, l := range e.links() {
		if l.Pending {
			created[strings.ToLower(l.Written[adsync.Email])] = true
		}
	}
	now := e.links()
	exists := map[int64]bool{}
	for _, c := range e.contacts() {
		exists[c.ID] = true
	}
	for uid, l := range before {
		if _, ok := now[uid]; !ok && !l.Pending && exists[l.ContactID] {
			assert.Equal(t, l.ContactID, unlinked[uid], "the dropped link of %s to contact %d is in the change log", uid, l.ContactID)
		}
	}
	for _, w := range k.sent {
		if w.contactID != 0 {
			assert.True(t, logged[w.contactID], "the update of contact %d is in the change log", w.contactID)
		} else {
			assert.True(t, created[strings.ToLower(w.email)], "the create of %s is in the change log or the create journal", w.email)
		}
	}
}

func (s *crashScenario) final(t *testing.T) ([]string, map[string]string) {
	e := s.e
	cs := e.contacts()
	emails := map[string]int{}
	byID := map[int64]adsync.Contact{}
	for _, c := range cs {
		byID[c.ID] = c
		if em := c.Values[adsync.Email]; em != "" {
			emails[strings.ToLower(em)]++
		}
	}
	for em, n := range emails {
		want := 1
		switch em {
		case "dup@x.example":
			want = 3 // two seeded, one created by resolution
		case "u21@x.example":
			want = 2 // the contact u21 was moved to, and its old one, left as it is
		}
		assert.Equal(t, want, n, "no duplicate contact for %s", em)
	}
	links := map[string]string{}
	for uid, l := range e.links() {
		require.False(t, l.Pending, "no pending create left for %s", uid)
		c, ok := byID[l.ContactID]
		require.True(t, ok, "link of %s names an existing contact", uid)
		links[uid] = c.Values[adsync.Email] + "/" + c.Values[adsync.FirstName]
	}
	// Every contact the sync created is in a run's change log, also one
	// whose create the dead process made and the restart reconciled
	// (R-RUN-7).
	createLogged := map[int64]bool{}
	for r, err := range e.syncer.AllChanges(e.ctx, e.org.Config.ID, adsync.ChangeFilter{Kind: adsync.ChangeCreate}) {
		require.NoError(e.t, err)
		if r.Outcome == adsync.OutcomeWritten {
			createLogged[r.ContactID] = true
		}
	}
	for uid, l := range e.links() {
		if l.Created {
			assert.True(e.t, createLogged[l.ContactID], "the create of contact %d for %s is in a change log", l.ContactID, uid)
		}
	}
	// Billing products only on created contacts, once each.
	for _, a := range e.store.Assignments() {
		assert.Equal(t, int64(9), a.ProductID)
	}
	return state(cs), links
}

// TestCrashAtEveryWrite kills each run of the scenario after every single
// write (to Autotask or to the history), one run per kill point, reruns,
// and checks that the final state equals the uninterrupted run's, with no
// duplicate contact (R-RUN-7).
func TestCrashAtEveryWrite(t *testing.T) {
	ref := newCrashScenario(t)
	writes := [2]int64{ref.syncWith(t, 0)}
	ref.change()
	writes[1] = ref.syncWith(t, 0)
	wantState, wantLinks := ref.final(t)
	require.Len(t, wantLinks, 30+1+1+4, "the scenario links every user but the conflicting one")
	require.Greater(t, writes[0], int64(30), "phase 1 writes")
	require.Greater(t, writes[1], int64(10), "phase 2 writes")

	for phase := range 2 {
		for n := int64(1); n <= writes[phase]; n++ {
			name := fmt.Sprintf("R-RUN-7 phase %d killed after write %d of %d", phase+1, n, writes[phase])
			ok := t.Run(name, func(t *testing.T) {
				s := newCrashScenario(t)
				kill := [2]int64{}
				kill[phase] = n
				s.syncWith(t, kill[0])
				s.change()
				s.syncWith(t, kill[1])
				gotState, gotLinks := s.final(t)
				assert.Equal(t, wantState, gotState, "Autotask ends as after the uninterrupted runs")
				assert.Equal(t, wantLinks, gotLinks, "every user linked to the same contact")
				assert.Equal(t, len(ref.e.store.Assignments()), len(s.e.store.Assignments()), "one billing product per created contact")
			})
			if !ok {
				return
			}
		}
	}
}
