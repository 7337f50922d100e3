package adsync_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
)

// recorder is an Observer keeping every event in order.
type recorder struct {
	mu     sync.Mutex
	events []string
	starts []adsync.RunStart
	writes []adsync.WriteEvent
	ends   []adsync.RunEnd
}

func (r *recorder) RunStarted(e adsync.RunStart) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "start")
	r.starts = append(r.starts, e)
}

func (r *recorder) Wrote(e adsync.WriteEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "write")
	r.writes = append(r.writes, e)
}

func (r *recorder) RunFinished(e adsync.RunEnd) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "end")
	r.ends = append(r.ends, e)
}

// panicker panics in every method.
type panicker struct{}

func (panicker) RunStarted(adsync.RunStart) { panic("start") }
func (panicker) Wrote(adsync.WriteEvent)    { panic("write") }
func (panicker) RunFinished(adsync.RunEnd)  { panic("end") }

// budgetStore is a contact store reporting an API budget.
type budgetStore struct {
	*contacts.Memory
	b adsync.APIBudget
}

func (s budgetStore) APIBudget() (adsync.APIBudget, bool) { return s.b, true }

func withObserver(o adsync.Observer) envOption {
	return withSyncerOptions(func(opts *adsync.Options) { opts.Observer = o })
}

func TestObserver(t *testing.T) {
	tests := []struct {
		name  string
		opts  []envOption
		setup func(e *env)
		check func(t *testing.T, e *env, rec *recorder, run adsync.Run, err error)
	}{
		{
			name: "a succeeded run: start, each write, end, all before Sync returns",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"))
			},
			check: func(t *testing.T, e *env, rec *recorder, run adsync.Run, err error) {
				require.NoError(t, err)
				assert.Equal(t, []string{"start", "write", "write", "end"}, rec.events)
				assert.Equal(t, adsync.RunStart{OrgID: "contoso", RunID: run.ID, Trigger: adsync.TriggerForced, Started: run.Started}, rec.starts[0])
				for _, w := range rec.writes {
					assert.Equal(t, adsync.ChangeCreate, w.Kind)
					assert.NoError(t, w.Err)
					assert.Equal(t, e.links()[w.UserID].ContactID, w.ContactID, "the created contact")
				}
				end := rec.ends[0]
				assert.Equal(t, run.ID, end.Run.ID)
				assert.Equal(t, adsync.StatusSucceeded, end.Run.Status)
				assert.Equal(t, 2, end.Run.Counts.Created)
				assert.NoError(t, end.Err)
				assert.Zero(t, end.OpenConflicts)
				assert.Contains(t, end.Reads, adsync.PhaseReadDirectory)
				assert.Contains(t, end.Reads, adsync.PhaseReadContacts)
				assert.Nil(t, end.Budget, "the store reports no budget")
			},
		},
		{
			name: "R-RUN-4 a link to a contact that already agrees is no write: Wrote is not called for it",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "a@x.example", true)
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"))
			},
			check: func(t *testing.T, e *env, rec *recorder, run adsync.Run, err error) {
				require.NoError(t, err)
				require.Equal(t, 1, run.Counts.LinkedAsIs)
				assert.Equal(t, []string{"start", "write", "end"}, rec.events, "the create only")
				assert.Equal(t, run.Counts.Writes(), len(rec.writes))
			},
		},
		{
			name: "R-RUN-4 a failed run ends with its error and no write",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
				e.src.FailReadAfter(0, adsync.ErrUnavailable)
			},
			check: func(t *testing.T, e *env, rec *recorder, run adsync.Run, err error) {
				require.Error(t, err)
				assert.Equal(t, []string{"start", "end"}, rec.events)
				end := rec.ends[0]
				assert.Equal(t, adsync.StatusFailed, end.Run.Status)
				assert.ErrorIs(t, end.Err, adsync.ErrUnavailable)
				assert.Equal(t, run.Error, end.Run.Error)
				assert.NotContains(t, end.Reads, adsync.PhaseReadDirectory, "the directory read did not complete")
			},
		},
		{
			name: "R-DEACT-4 a held run ends held with its held deactivations",
			setup: func(e *env) {
				for i := range 30 {
					e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
				}
				e.mustSync()
				for i := range 12 {
					e.src.Remove(fmt.Sprintf("u%02d", i))
				}
			},
			check: func(t *testing.T, e *env, rec *recorder, run adsync.Run, err error) {
				require.NoError(t, err)
				require.Len(t, rec.ends, 2)
				end := rec.ends[1]
				assert.Equal(t, adsync.StatusHeld, end.Run.Status)
				assert.Len(t, end.Run.Held, 12)
				assert.NoError(t, end.Err)
				assert.Equal(t, []string{"start", "end"}, rec.events[len(rec.events)-2:], "held deactivations are not writes")
			},
		},
		{
			name: "R-RUN-6 a write that fails for one contact is observed with its error",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"))
				e.store.FailWhere(func(c contacts.Call) error {
					if c.Method == contacts.MethodCreate && c.Values[adsync.FirstName] == "Bob" {
						return fmt.Errorf("%w: refused", adsync.ErrValidation)
					}
					return nil
				})
			},
			check: func(t *testing.T, e *env, rec *recorder, run adsync.Run, err error) {
				require.NoError(t, err)
				require.Len(t, rec.writes, 2)
				failed := 0
				for _, w := range rec.writes {
					if w.Err != nil {
						failed++
						assert.Equal(t, "u2", w.UserID)
						assert.ErrorIs(t, w.Err, adsync.ErrValidation)
						assert.Zero(t, w.ContactID)
					}
				}
				assert.Equal(t, 1, failed)
				assert.Equal(t, 1, rec.ends[0].Run.Counts.FailedWrites)
			},
		},
		{
			name: "R-CONF-5 new conflicts are counted once, open ones every run",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "A@x.example"))
				e.mustSync()
			},
			check: func(t *testing.T, e *env, rec *recorder, run adsync.Run, err error) {
				require.NoError(t, err)
				require.Len(t, rec.ends, 2)
				assert.Equal(t, 2, rec.ends[0].NewConflicts)
				assert.Equal(t, 2, rec.ends[0].OpenConflicts)
				assert.Zero(t, rec.ends[1].NewConflicts, "seen before")
				assert.Equal(t, 2, rec.ends[1].OpenConflicts)
			},
		},
		{
			name: "the store's budget reading comes with the end",
			opts: []envOption{withStore(func(m *contacts.Memory) adsync.ContactStore {
				return budgetStore{Memory: m, b: adsync.APIBudget{Used: 6000, Limit: 10000, PaceAt: 0.5}}
			})},
			setup: func(e *env) { e.src.Put(user("u1", "Ann", "Lee", "a@x.example")) },
			check: func(t *testing.T, e *env, rec *recorder, run adsync.Run, err error) {
				require.NoError(t, err)
				require.NotNil(t, rec.ends[0].Budget)
				assert.Equal(t, adsync.APIBudget{Used: 6000, Limit: 10000, PaceAt: 0.5}, *rec.ends[0].Budget)
				assert.True(t, rec.ends[0].Budget.Paced())
			},
		},
		{
			name:  "a panicking observer changes nothing; the others still get every event",
			setup: func(e *env) { e.src.Put(user("u1", "Ann", "Lee", "a@x.example")) },
			check: func(t *testing.T, e *env, rec *recorder, run adsync.Run, err error) {
				require.NoError(t, err)
				assert.Equal(t, adsync.StatusSucceeded, run.Status)
				assert.Equal(t, []string{"start", "write", "end"}, rec.events)
				assert.Len(t, e.links(), 1)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			var obs adsync.Observer = rec
			if tc.name == tests[len(tests)-1].name {
				obs = adsync.Observers(panicker{}, nil, rec, panicker{})
			}
			e := newEnv(t, append(tc.opts, withObserver(obs))...)
			if tc.setup != nil {
				tc.setup(e)
			}
			run, err := e.sync()
			tc.check(t, e, rec, run, err)
		})
	}
}

func TestObserverNotCalledForRefusedRuns(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, withObserver(rec), withConfig(func(c *adsync.OrgConfig) { c.Enabled = false }))
	_, err := e.sync()
	require.True(t, errors.Is(err, adsync.ErrOrgDisabled))
	assert.Empty(t, rec.events)
}

func TestAPIBudgetPaced(t *testing.T) {
	tests := []struct {
		b    adsync.APIBudget
		want bool
	}{
		{adsync.APIBudget{Used: 49, Limit: 100, PaceAt: 0.5}, false},
		{adsync.APIBudget{Used: 50, Limit: 100, PaceAt: 0.5}, true},
		{adsync.APIBudget{Used: 50, Limit: 0, PaceAt: 0.5}, false},
		{adsync.APIBudget{Used: 50, Limit: 100}, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.b.Paced(), "%+v", tc.b)
	}
}

// R-RUN-7: a run stopped gracefully ends interrupted, after the writes of
// the batch in flight, and the end is observed although ctx is cancelled.
func TestObserverInterruptedRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	rec := &recorder{}
	e := newEnv(t, withObserver(rec), withSyncerOptions(func(o *adsync.Options) {
		o.Progress = func(p adsync.Progress) {
			if p.Phase == adsync.PhaseApply && p.Done > 0 {
				once.Do(cancel)
			}
		}
	}))
	for i := range 700 {
		e.src.Put(user(fmt.Sprintf("u%04d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
	}
	run, err := e.syncer.Sync(ctx, e.org, adsync.TriggerScheduled)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, rec.ends, 1)
	assert.Equal(t, adsync.StatusInterrupted, rec.ends[0].Run.Status)
	assert.Equal(t, run.ID, rec.ends[0].Run.ID)
	assert.ErrorIs(t, rec.ends[0].Err, context.Canceled)
	assert.Len(t, rec.writes, 500, "the batch in flight, each write once")
	assert.Zero(t, rec.ends[0].OpenConflicts, "read back although ctx is cancelled")
}
