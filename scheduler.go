package adsync

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DefaultInterval is the time between two runs of an organization, counted
// from the start of the last attempt (R-RUN-1).
const DefaultInterval = 24 * time.Hour

// DefaultParallelism is how many organizations a Scheduler runs at once.
const DefaultParallelism = 2

// Clock is the time source of a Syncer and its Schedulers (Options.Clock),
// injectable for tests.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed, and a
	// function that stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// SchedulerOptions configure a Scheduler. The zero value is valid.
type SchedulerOptions struct {
	// Interval between runs of one organization (default 24 hours).
	Interval time.Duration
	// Parallelism bounds the organizations run at once (default 2).
	Parallelism int
	// Logger receives the scheduler's log; nil discards it.
	Logger *slog.Logger
	// OnRun, when set, is called after each run with its record and
	// error, and reports the error (the Scheduler then does not log it).
	// Without OnRun, a failed run is logged at level error.
	OnRun func(Run, error)
}

// Scheduler runs many organizations on one Syncer: each is due Interval
// after the start of its last attempt, scheduled or forced, successful or
// not (R-RUN-1). The last attempt is read from the history store, so a
// restart keeps the schedule. Force runs an organization now (R-RUN-2).
type Scheduler struct {
	s     *Syncer
	opts  SchedulerOptions
	clock Clock
	log   *slog.Logger
	orgs  map[string]*schedOrg
	order []string

	mu     sync.Mutex
	wake   chan struct{}
	loaded bool
}

type schedOrg struct {
	org         Org
	lastAttempt time.Time // zero: never attempted
	forced      bool
	running     bool
}

// NewScheduler returns a Scheduler for the organizations. It refuses an
// invalid configuration, and two configurations for one company
// (R-SCOPE-2).
func NewScheduler(s *Syncer, orgs []Org, opts *SchedulerOptions) (*Scheduler, error) {
	if s == nil {
		return nil, &ConfigError{Field: "Syncer", Problem: "is required"}
	}
	var o SchedulerOptions
	if opts != nil {
		o = *opts
	}
	if o.Interval < 0 {
		return nil, &ConfigError{Field: "SchedulerOptions.Interval", Problem: fmt.Sprintf("must be positive (0 for the default %s), got %s", DefaultInterval, o.Interval)}
	}
	if o.Parallelism < 0 {
		return nil, &ConfigError{Field: "SchedulerOptions.Parallelism", Problem: fmt.Sprintf("must be positive (0 for the default %d), got %d", DefaultParallelism, o.Parallelism)}
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Parallelism == 0 {
		o.Parallelism = DefaultParallelism
	}
	cfgs := make([]OrgConfig, len(orgs))
	for i, org := range orgs {
		cfgs[i] = org.Config
		if org.Source == nil {
			return nil, &ConfigError{Field: fmt.Sprintf("orgs[%d].source", i), Problem: "organization " + org.Config.ID + " has no directory source"}
		}
	}
	if err := ValidateOrgs(cfgs); err != nil {
		return nil, err
	}
	// One clock for the runs and their schedule: the Syncer's.
	sc := &Scheduler{s: s, opts: o, clock: s.opts.Clock, log: o.Logger, orgs: map[string]*schedOrg{}, wake: make(chan struct{}, 1)}
	if sc.log == nil {
		sc.log = slog.New(slog.DiscardHandler)
	}
	for _, org := range orgs {
		sc.orgs[org.Config.ID] = &schedOrg{org: org}
		sc.order = append(sc.order, org.Config.ID)
	}
	return sc, nil
}

// load reads each organization's last attempt from the history.
func (sc *Scheduler) load(ctx context.Context) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.loaded {
		return nil
	}
	for _, id := range sc.order {
		runs, err := sc.s.opts.History.Runs(ctx, id, 1)
		if err != nil {
			return fmt.Errorf("adsync: scheduler: load the last run of %q: %w", id, err)
		}
		if len(runs) > 0 {
			sc.orgs[id].lastAttempt = runs[0].Started
		}
	}
	sc.loaded = true
	return nil
}

// NextDue returns when the organization is next due: Interval after its
// last attempt, or now if it was never attempted or is forced.
func (sc *Scheduler) NextDue(ctx context.Context, orgID string) (time.Time, error) {
	if err := sc.load(ctx); err != nil {
		return time.Time{}, err
	}
	sc.mu.Lock()
	o := sc.orgs[orgID]
	sc.mu.Unlock()
	if o == nil {
		return time.Time{}, fmt.Errorf("adsync: scheduler: organization %q: %w", orgID, ErrNotFound)
	}
	if err := sc.refresh(ctx, o); err != nil {
		return time.Time{}, err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.dueLocked(o, sc.clock.Now()), nil
}

// refresh reads the organization's last attempt from the history: a run
// the scheduler did not start (a sync forced from another process, or
// through the Syncer directly) counts too (R-RUN-1).
func (sc *Scheduler) refresh(ctx context.Context, o *schedOrg) error {
	id := o.org.Config.ID
	runs, err := sc.s.opts.History.Runs(ctx, id, 1)
	if err != nil {
		return fmt.Errorf("adsync: scheduler: load the last run of %q: %w", id, err)
	}
	if len(runs) == 0 {
		return nil
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if runs[0].Started.After(o.lastAttempt) {
		o.lastAttempt = runs[0].Started
	}
	return nil
}

func (sc *Scheduler) dueLocked(o *schedOrg, now time.Time) time.Time {
	// now, not a fresh clock reading: the loop compares the due time with
	// its own now, and a later reading would never be due with a real clock.
	if o.forced || o.lastAttempt.IsZero() {
		return now
	}
	return o.lastAttempt.Add(sc.opts.Interval)
}

// Force asks for a run of the organization now (R-RUN-2). A force during a
// run of the organization is coalesced into that run. A disabled
// organization is refused with ErrOrgDisabled, an unknown one with
// ErrNotFound. The run itself happens in Run's loop.
func (sc *Scheduler) Force(orgID string) error {
	sc.mu.Lock()
	o := sc.orgs[orgID]
	switch {
	case o == nil:
		sc.mu.Unlock()
		return fmt.Errorf("adsync: force organization %q: %w", orgID, ErrNotFound)
	case !o.org.Config.Enabled:
		sc.mu.Unlock()
		return fmt.Errorf("adsync: force organization %q: %w: enable it first", orgID, ErrOrgDisabled)
	case o.running:
		sc.mu.Unlock()
		sc.log.Info("force coalesced with the running run", "org", orgID)
		return nil
	}
	o.forced = true
	sc.mu.Unlock()
	sc.poke()
	return nil
}

// stillDue checks the history before a scheduled run: if a run the
// scheduler did not start began since its last attempt (prev), the
// organization is due an Interval after that run instead (R-RUN-1).
func (sc *Scheduler) stillDue(ctx context.Context, o *schedOrg, prev, now time.Time) bool {
	id := o.org.Config.ID
	runs, err := sc.s.opts.History.Runs(ctx, id, 1)
	if err != nil {
		sc.log.Warn("scheduler: cannot read the last run: running on the local schedule", "org", id, "err", err)
		return true
	}
	if len(runs) == 0 || !runs[0].Started.After(prev) || !now.Before(runs[0].Started.Add(sc.opts.Interval)) {
		return true
	}
	sc.mu.Lock()
	o.lastAttempt = runs[0].Started
	sc.mu.Unlock()
	sc.log.Info("scheduler: the organization was run elsewhere since: not due yet", "org", id, "last_start", runs[0].Started)
	return false
}

func (sc *Scheduler) poke() {
	select {
	case sc.wake <- struct{}{}:
	default:
	}
}

// Run schedules until ctx is cancelled, then waits for the runs in flight
// (each finishes its batch in flight and is recorded) and returns nil. It
// returns an error only if the history cannot be read at start.
func (sc *Scheduler) Run(ctx context.Context) error {
	if err := sc.load(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	active := 0
	for {
		now := sc.clock.Now()
		next := time.Time{}
		sc.mu.Lock()
		for _, id := range sc.order {
			o := sc.orgs[id]
			if !o.org.Config.Enabled || o.running {
				continue
			}
			due := sc.dueLocked(o, now)
			if !due.After(now) && active < sc.opts.Parallelism {
				trigger := TriggerScheduled
				if o.forced {
					trigger = TriggerForced
				}
				prev := o.lastAttempt
				o.running, o.forced, o.lastAttempt = true, false, now
				active++
				wg.Add(1)
				go func(o *schedOrg, trigger Trigger) {
					defer wg.Done()
					if trigger == TriggerScheduled && !sc.stillDue(ctx, o, prev, now) {
						sc.mu.Lock()
						o.running = false
						active--
						sc.mu.Unlock()
						sc.poke()
						return
					}
					run, err := sc.s.Sync(ctx, o.org, trigger)
					if err != nil && sc.opts.OnRun == nil {
						// Nobody else sees the error: log it, once.
						sc.log.Error("run failed", "org", o.org.Config.ID, "run", run.ID, "err", err)
					}
					sc.mu.Lock()
					o.running = false
					if !run.Started.IsZero() {
						o.lastAttempt = run.Started
					}
					active--
					sc.mu.Unlock()
					if sc.opts.OnRun != nil {
						sc.opts.OnRun(run, err)
					}
					sc.poke()
				}(o, trigger)
				continue
			}
			if due.After(now) && (next.IsZero() || due.Before(next)) {
				next = due
			}
		}
		sc.mu.Unlock()

		var timer <-chan time.Time
		stop := func() bool { return false }
		if !next.IsZero() {
			timer, stop = sc.clock.NewTimer(next.Sub(now))
		}
		select {
		case <-ctx.Done():
			stop()
			return nil
		case <-sc.wake:
		case <-timer:
		}
		stop()
	}
}
