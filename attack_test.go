package adsync_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
)

// lateStore answers creates as a server whose answers are lost while it
// commits later: Create returns an outcome-unknown error without the
// contact, which commit() makes appear afterwards (R-RUN-7).
type lateStore struct {
	*contacts.Memory
	late    atomic.Bool
	noID    atomic.Bool
	mu      sync.Mutex // the Syncer writes from several goroutines
	pending []adsync.NewContact
	empty   atomic.Bool // Contacts answers with no contact at all
}

func (s *lateStore) Create(ctx context.Context, c adsync.NewContact) (int64, error) {
	switch {
	case s.late.Load():
		s.mu.Lock()
		s.pending = append(s.pending, c)
		s.mu.Unlock()
		return 0, fmt.Errorf("POST Contacts: timed out; the look-up did not find it: %w", adsync.ErrOutcomeUnknown)
	case s.noID.Load():
		_, err := s.Memory.Create(ctx, c)
		return 0, err // 200 without an id
	}
	return s.Memory.Create(ctx, c)
}

func (s *lateStore) Contacts(ctx context.Context, id int64, fs adsync.FieldSet, page func([]adsync.Contact) error) error {
	if s.empty.Load() {
		return nil // 200 with no items
	}
	return s.Memory.Contacts(ctx, id, fs, page)
}

// commit makes the creates Autotask committed late appear.
func (s *lateStore) commit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.pending {
		s.Memory.Seed(adsync.Contact{CompanyID: c.CompanyID, Active: true, Values: c.Values})
	}
	s.pending = nil
}

// noGetter hides the ContactGetter capability.
type noGetter struct{ adsync.ContactStore }

func TestLostAnswers(t *testing.T) {
	newLate := func(t *testing.T) (*env, *lateStore) {
		var ls *lateStore
		e := newEnv(t, withStore(func(m *contacts.Memory) adsync.ContactStore { ls = &lateStore{Memory: m}; return ls }))
		e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
		return e, ls
	}
	t.Run("R-RUN-7 a create whose answer was lost is never sent again, and the run that finds it counts it", func(t *testing.T) {
		e, ls := newLate(t)
		ls.late.Store(true)
		run, err := e.sync()
		require.NoError(t, err, "an unknown outcome fails one write, not the run")
		assert.Equal(t, 2, run.Counts.FailedWrites)
		assert.Zero(t, run.Counts.Created)
		assert.Contains(t, run.Failures[0].Error, "outcome of the write is unknown")
		assert.True(t, e.links()["u1"].Pending, "the create stays journaled")
		ls.late.Store(false)

		// The next run starts before Autotask committed: the users wait.
		run = e.mustSync()
		assert.Zero(t, run.Counts.Created, "not created again while its outcome is unknown")
		assert.Empty(t, e.contacts(), "nothing created yet")
		require.Len(t, run.Skips, 2)
		assert.Equal(t, "R-RUN-7", run.Skips[0].Rule)

		// Autotask commits; the next run finds both and counts them.
		ls.commit()
		run = e.mustSync()
		assert.Equal(t, 2, run.Counts.Created, "counted by the run that found them")
		assert.Len(t, e.contacts(), 2, "no duplicate")
		assert.False(t, e.links()["u1"].Pending)
		assert.NotZero(t, e.links()["u1"].ContactID)
		run = e.mustSync()
		assert.Zero(t, run.Counts.Writes(), "R-RUN-8")
	})
	t.Run("R-RUN-7 a journaled create not found by a read well after its deadline never happened", func(t *testing.T) {
		e, ls := newLate(t)
		ls.late.Store(true)
		_, err := e.sync()
		require.NoError(t, err)
		ls.late.Store(false)
		ls.pending = nil // Autotask never committed them
		e.clock.Advance(adsync.DefaultJournalGrace)
		run := e.mustSync()
		assert.Equal(t, 2, run.Counts.Created)
		assert.Len(t, e.contacts(), 2)
	})
	t.Run("R-RUN-7 a create answered without an id is never linked to contact 0", func(t *testing.T) {
		e, ls := newLate(t)
		ls.noID.Store(true)
		run, err := e.sync()
		require.NoError(t, err)
		assert.Zero(t, run.Counts.Created)
		assert.Equal(t, 2, run.Counts.FailedWrites)
		for _, l := range e.links() {
			assert.True(t, l.Pending, "journaled, not linked to contact 0")
		}
		ls.noID.Store(false)
		run = e.mustSync()
		assert.Equal(t, 2, run.Counts.Created, "found by the next run and counted")
		assert.Len(t, e.contacts(), 2, "no duplicate")
		for _, l := range e.links() {
			assert.NotZero(t, l.ContactID)
		}
	})
}

func TestContactsReadGuard(t *testing.T) {
	setup := func(t *testing.T, opts ...envOption) (*env, *lateStore) {
		var ls *lateStore
		e := newEnv(t, append(opts, withStore(func(m *contacts.Memory) adsync.ContactStore {
			ls = &lateStore{Memory: m}
			return ls
		}))...)
		for i := range 50 {
			e.src.Put(user(fmt.Sprintf("u%02d", i), "First", fmt.Sprint("Last", i), fmt.Sprintf("u%02d@x.example", i)))
		}
		e.mustSync()
		require.Len(t, e.contacts(), 50)
		return e, ls
	}
	t.Run("R-DEACT-5 an empty contacts read re-creates no one", func(t *testing.T) {
		e, ls := setup(t)
		ls.empty.Store(true)
		writes := e.writes()
		run, err := e.sync()
		require.ErrorIs(t, err, adsync.ErrIncompleteContacts)
		assert.Contains(t, err.Error(), "50 of the 50 linked contacts are missing")
		assert.Contains(t, err.Error(), "security level")
		assert.Equal(t, adsync.StatusFailed, run.Status)
		assert.Equal(t, writes, e.writes(), "nothing written")
		assert.Len(t, e.links(), 50, "no link dropped")
		ls.empty.Store(false)
		run = e.mustSync()
		assert.Zero(t, run.Counts.Writes(), "back to normal: nothing to do")
		assert.Len(t, e.contacts(), 50)
	})
	t.Run("R-DEACT-5 without a way to check one contact, a short read fails the run", func(t *testing.T) {
		e, ls := setup(t)
		e2 := *e
		e2.opts.Store = noGetter{ls}
		s, err := adsync.NewSyncer(e2.opts)
		require.NoError(t, err)
		ls.empty.Store(true)
		_, err = s.Sync(e.ctx, e.org, adsync.TriggerForced)
		require.ErrorIs(t, err, adsync.ErrIncompleteContacts)
		assert.Len(t, e.contacts(), 50)
		assert.Len(t, e.links(), 50)
	})
	t.Run("R-DEACT-5 a few contacts missing without a way to check them: their users wait", func(t *testing.T) {
		e, ls := setup(t)
		gone := e.links()["u07"].ContactID
		require.True(t, ls.Delete(gone))
		e2 := *e
		e2.opts.Store = noGetter{ls}
		s, err := adsync.NewSyncer(e2.opts)
		require.NoError(t, err)
		run, err := s.Sync(e.ctx, e.org, adsync.TriggerForced)
		require.NoError(t, err)
		assert.Zero(t, run.Counts.Created, "never re-created on a read's word")
		require.Len(t, run.Skips, 1)
		assert.Equal(t, "R-DEACT-5", run.Skips[0].Rule)
		assert.Equal(t, gone, e.links()["u07"].ContactID, "the link stays")
	})
	t.Run("R-LINK-4 a contact the store confirms deleted is dropped and the user matched again", func(t *testing.T) {
		e, ls := setup(t)
		require.True(t, ls.Delete(e.links()["u07"].ContactID))
		run := e.mustSync()
		assert.Equal(t, 1, run.Counts.Created)
		assert.Len(t, e.contacts(), 50)
	})
}

func TestHostileText(t *testing.T) {
	e := newEnv(t)
	u := user("u1", "Jos\xe9", "N\x00ull", "jose@x.example")
	u.Name = strings.Repeat("N", 1<<20) // a 1 MB display name
	u = with(u, adsync.Title, strings.Repeat("T", 1<<20))
	e.src.Put(u, user("u2", "Ann", "Lee", "ann@x.example"))
	run := e.mustSync()
	assert.Equal(t, 2, run.Counts.Created)
	var c adsync.Contact
	for _, x := range e.contacts() {
		if x.Values[adsync.Email] == "jose@x.example" {
			c = x
		}
	}
	assert.Equal(t, "José", c.Values[adsync.FirstName], "R-FIELD-8 Latin-1 bytes read as Latin-1")
	assert.Equal(t, "Null", c.Values[adsync.LastName], "R-FIELD-8 NUL removed")
	var warned bool
	for _, w := range run.Warnings {
		if w.Rule == "R-FIELD-8" {
			warned = true
			assert.Contains(t, w.Message, "firstName")
			assert.Less(t, len(w.Message), 2048, "R-RUN-4 the warning does not carry the 1 MB name")
		}
	}
	assert.True(t, warned, "R-FIELD-8 a warning names the user and field")
	rec, err := e.hist.Run(e.ctx, "contoso", run.ID)
	require.NoError(t, err)
	size := 0
	for _, w := range rec.Warnings {
		size += len(w.Message) + len(w.UserID)
	}
	for _, s := range rec.Skips {
		size += len(s.User) + len(s.Reason)
	}
	assert.Less(t, size, 64<<10, "R-RUN-4 the run record stays small with 1 MB values")

	run = e.mustSync()
	assert.Zero(t, run.Counts.Writes(), "R-RUN-8 the cleaned value equals the contact on the next run")
}

// cancellingStore cancels the run's context after its n-th create.
type cancellingStore struct {
	*contacts.Memory
	n      int64
	done   atomic.Int64
	cancel context.CancelFunc
}

func (s *cancellingStore) Create(ctx context.Context, c adsync.NewContact) (int64, error) {
	id, err := s.Memory.Create(ctx, c)
	if s.done.Add(1) == s.n {
		s.cancel()
	}
	return id, err
}

func TestCancelStopsStartingWrites(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var cs *cancellingStore
	e := newEnv(t, withStore(func(m *contacts.Memory) adsync.ContactStore {
		cs = &cancellingStore{Memory: m, n: 10, cancel: cancel}
		return cs
	}))
	for i := range 400 { // one batch
		e.src.Put(user(fmt.Sprintf("u%04d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
	}
	run, err := e.syncer.Sync(ctx, e.org, adsync.TriggerScheduled)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "stopped (the run was cancelled)", "the error says the run was stopped")
	assert.NotContains(t, err.Error(), "save the conflicts")
	assert.Equal(t, adsync.StatusInterrupted, run.Status)
	made := int(cs.done.Load())
	assert.LessOrEqual(t, made, 10+adsync.DefaultWriteConcurrency, "no new write started once cancelled: only those in flight finished")
	assert.Equal(t, made, run.Counts.Created, "each write made is counted")
	linked := 0
	for _, l := range e.links() {
		if !l.Pending {
			linked++
		}
	}
	assert.Equal(t, made, linked, "and linked")

	run = e.mustSync()
	assert.Equal(t, 400-made, run.Counts.Created, "the next run goes on: creates never sent were not left journaled")
	assert.Len(t, e.contacts(), 400, "no duplicate")
}

func TestHugeUserIDIgnored(t *testing.T) {
	e := newEnv(t)
	e.src.Put(user(strings.Repeat("x", adsync.MaxUserIDLen+1), "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
	run := e.mustSync()
	assert.Equal(t, 1, run.Counts.Created, "R-LINK-1 a user whose id no store can key is ignored")
	require.NotEmpty(t, run.Warnings)
	assert.Contains(t, run.Warnings[0].Message, "user id of 1025 bytes")
	assert.Less(t, len(run.Warnings[0].Message), 300, "the warning does not repeat the id whole")
}
