package adsync_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/source/sourcetest"
)

// schedEnv runs a Scheduler over n organizations on a fake clock.
type schedEnv struct {
	*env
	orgs []adsync.Org
	runs chan adsync.Run
	sc   *adsync.Scheduler
	stop context.CancelFunc
	done chan error
}

func newSchedEnv(t *testing.T, n int, opts ...envOption) *schedEnv {
	e := newEnv(t, opts...)
	se := &schedEnv{env: e, runs: make(chan adsync.Run, 100)}
	for i := range n {
		id := int64(1000 + i)
		e.store.AddCompany(id, fmt.Sprint("Customer ", i))
		src := sourcetest.NewMemory(nil)
		src.Put(user(fmt.Sprint("u", i), "Ann", fmt.Sprint("Lee", i), fmt.Sprintf("ann%d@x.example", i)))
		se.orgs = append(se.orgs, adsync.Org{Source: src,
			Config: adsync.OrgConfig{ID: fmt.Sprint("org", i), CompanyID: id, Enabled: true}})
	}
	return se
}

func (se *schedEnv) start(t *testing.T, parallelism int) {
	t.Helper()
	sc, err := adsync.NewScheduler(se.syncer, se.orgs, &adsync.SchedulerOptions{
		Parallelism: parallelism,
		OnRun:       func(r adsync.Run, _ error) { se.runs <- r },
	})
	require.NoError(t, err)
	se.sc = sc
	ctx, cancel := context.WithCancel(context.Background())
	se.stop, se.done = cancel, make(chan error, 1)
	go func() { se.done <- sc.Run(ctx) }()
	t.Cleanup(func() { se.shutdown(t) })
}

func (se *schedEnv) shutdown(t *testing.T) {
	if se.stop != nil {
		se.stop()
		require.NoError(t, <-se.done)
		se.stop = nil
	}
}

// next waits for the next finished run.
func (se *schedEnv) next(t *testing.T) adsync.Run {
	t.Helper()
	select {
	case r := <-se.runs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no run happened")
	}
	return adsync.Run{}
}

// none checks that no run happens while the scheduler settles.
func (se *schedEnv) none(t *testing.T) {
	t.Helper()
	se.settle(t)
	select {
	case r := <-se.runs:
		t.Fatalf("unexpected run of %s (%s)", r.OrgID, r.Trigger)
	case <-time.After(50 * time.Millisecond):
	}
}

// settle waits until the scheduler waits on its timer again.
func (se *schedEnv) settle(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool { return se.clock.Timers() > 0 }, 10*time.Second, time.Millisecond)
}

func TestSchedulerRules(t *testing.T) {
	t.Run("R-RUN-1 a run every 24 hours from the start of the last attempt", func(t *testing.T) {
		se := newSchedEnv(t, 1)
		start := se.clock.Now()
		se.start(t, 1)
		r := se.next(t)
		assert.Equal(t, adsync.TriggerScheduled, r.Trigger)
		assert.True(t, r.Started.Equal(start), "never attempted: due at once")
		due, err := se.sc.NextDue(se.ctx, "org0")
		require.NoError(t, err)
		assert.True(t, due.Equal(start.Add(24*time.Hour)), "due %v", due)

		se.settle(t)
		se.clock.Advance(23 * time.Hour)
		se.none(t)
		se.clock.Advance(time.Hour)
		r = se.next(t)
		assert.True(t, r.Started.Equal(start.Add(24*time.Hour)))
	})

	t.Run("R-RUN-1 a failed attempt counts too", func(t *testing.T) {
		se := newSchedEnv(t, 1)
		se.orgs[0].Source.(*sourcetest.Memory).FailCheck(fmt.Errorf("refused: %w", adsync.ErrUnavailable))
		start := se.clock.Now()
		se.start(t, 1)
		r := se.next(t)
		assert.Equal(t, adsync.StatusFailed, r.Status)
		due, err := se.sc.NextDue(se.ctx, "org0")
		require.NoError(t, err)
		assert.True(t, due.Equal(start.Add(24*time.Hour)))
	})

	t.Run("R-RUN-1 the next due time survives a restart", func(t *testing.T) {
		se := newSchedEnv(t, 1)
		start := se.clock.Now()
		se.start(t, 1)
		se.next(t)
		se.shutdown(t)
		se.clock.Advance(3 * time.Hour)
		// A new process on the same history.
		sc, err := adsync.NewScheduler(se.syncer, se.orgs, nil)
		require.NoError(t, err)
		due, err := sc.NextDue(se.ctx, "org0")
		require.NoError(t, err)
		assert.True(t, due.Equal(start.Add(24*time.Hour)), "due %v", due)
	})

	t.Run("R-RUN-2 a forced run happens now and moves the next due time", func(t *testing.T) {
		se := newSchedEnv(t, 1)
		se.start(t, 1)
		se.next(t)
		se.settle(t)
		se.clock.Advance(5 * time.Hour)
		forcedAt := se.clock.Now()
		require.NoError(t, se.sc.Force("org0"))
		r := se.next(t)
		assert.Equal(t, adsync.TriggerForced, r.Trigger)
		due, err := se.sc.NextDue(se.ctx, "org0")
		require.NoError(t, err)
		assert.True(t, due.Equal(forcedAt.Add(24*time.Hour)), "due %v", due)
	})

	t.Run("R-RUN-2 forcing a disabled or unknown organization is refused", func(t *testing.T) {
		se := newSchedEnv(t, 2)
		se.orgs[1].Config.Enabled = false
		se.start(t, 2)
		r := se.next(t)
		assert.Equal(t, "org0", r.OrgID)
		se.none(t)
		assert.ErrorIs(t, se.sc.Force("org1"), adsync.ErrOrgDisabled)
		assert.ErrorIs(t, se.sc.Force("nope"), adsync.ErrNotFound)
	})

	t.Run("R-RUN-2 a force during a run is coalesced into it", func(t *testing.T) {
		se := newSchedEnv(t, 1, withStore(func(m *contacts.Memory) adsync.ContactStore { return &blockingStore{Memory: m} }))
		bs := se.storeIf.(*blockingStore)
		bs.block()
		se.start(t, 1)
		bs.waitBlocked()
		require.NoError(t, se.sc.Force("org0"))
		bs.release()
		se.next(t)
		se.none(t)
	})

	t.Run("parallelism bounds the organizations run at once", func(t *testing.T) {
		se := newSchedEnv(t, 5, withStore(func(m *contacts.Memory) adsync.ContactStore { return &countingStore{Memory: m} }))
		cs := se.storeIf.(*countingStore)
		se.start(t, 2)
		for range 5 {
			se.next(t)
		}
		assert.LessOrEqual(t, cs.max(), 2)
		assert.Equal(t, 5, cs.total())
	})

	t.Run("R-SCOPE-2 two organizations for one company are refused", func(t *testing.T) {
		se := newSchedEnv(t, 2)
		se.orgs[1].Config.CompanyID = se.orgs[0].Config.CompanyID
		_, err := adsync.NewScheduler(se.syncer, se.orgs, nil)
		require.ErrorIs(t, err, adsync.ErrInvalidConfig)
	})
}

// countingStore measures how many runs are in their contact read at once.
type countingStore struct {
	*contacts.Memory
	mu        sync.Mutex
	cur, peak int
	n         int
}

func (c *countingStore) Check(ctx context.Context, id int64) error {
	c.mu.Lock()
	c.cur++
	c.n++
	c.peak = max(c.peak, c.cur)
	c.mu.Unlock()
	time.Sleep(5 * time.Millisecond) // let the runs overlap
	c.mu.Lock()
	c.cur--
	c.mu.Unlock()
	return c.Memory.Check(ctx, id)
}

func (c *countingStore) max() int   { c.mu.Lock(); defer c.mu.Unlock(); return c.peak }
func (c *countingStore) total() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }
