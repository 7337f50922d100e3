package adsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Phase names a stage of a run, for progress reports.
type Phase string

// The phases of a run, in order.
const (
	PhaseReadDirectory Phase = "read-directory"
	PhaseReadContacts  Phase = "read-contacts"
	PhasePlan          Phase = "plan"
	PhaseApply         Phase = "apply"
)

// Progress reports how far a long run has come. Total is 0 when unknown
// (a directory read does not know its size in advance).
type Progress struct {
	OrgID string
	Phase Phase
	Done  int
	Total int
}

// Defaults of Options.
const (
	DefaultWriteConcurrency = 3
	DefaultBatchSize        = MaxPageSize
	DefaultJournalGrace     = 15 * time.Minute
)

// Options configure a Syncer.
type Options struct {
	// Store is the Autotask side. Required.
	Store ContactStore
	// History keeps runs, links, conflicts and resolutions. Required.
	History HistoryStore
	// Matcher decides for unlinked users. Required: matcher.New(nil) gives
	// Autotask's rules.
	Matcher Matcher
	// Fields builds each run's field rules. Required: merge.New gives
	// Autotask's rules.
	Fields FieldPolicy
	// Logger receives the run's log; nil discards it.
	Logger *slog.Logger
	// Progress, when set, is called as a run advances, one call at a time
	// (the directory and the contacts are read concurrently). It must be
	// fast.
	Progress func(Progress)
	// WriteConcurrency bounds the writes in flight (default 3, Autotask's
	// thread limit per endpoint).
	WriteConcurrency int
	// BatchSize is the number of changes applied per batch, links saved
	// after each (default and maximum 500).
	BatchSize int
	// JournalGrace is how long after a create was journaled a contacts
	// read that does not show the contact proves that the create never
	// happened (R-RUN-7): Autotask may commit a create whose answer was
	// lost some time later. Until then its user waits (skipped, never
	// created again). Default 15 minutes, well past the Autotask client's
	// longest create with its retries.
	JournalGrace time.Duration
	// Clock is the time source of the Syncer and of every Scheduler built
	// on it; nil means the system clock. For tests.
	Clock Clock
	// Observer, when set, receives the events of every run: start, each
	// write, end (see Observer for the contract). Observers combines
	// several.
	Observer Observer
}

// Org is one organization to sync: its configuration and its directory.
type Org struct {
	Config OrgConfig
	Source DirectorySource
}

// Syncer runs the sync of organizations: it composes a ContactStore, a
// HistoryStore, a Matcher and field rules, and owns the rules of a run (order
// of matching, guard, batching, error wrapping), like *sql.DB owns a
// driver. It is safe for concurrent use; runs of one organization are
// serialized (R-RUN-5).
type Syncer struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	running map[string]bool // organizations with a run in this process

	progressMu sync.Mutex
}

// NewSyncer returns a Syncer, or a *ConfigError naming the missing or bad
// option.
func NewSyncer(o Options) (*Syncer, error) {
	switch {
	case o.Store == nil:
		return nil, &ConfigError{Field: "Options.Store", Problem: "is required"}
	case o.History == nil:
		return nil, &ConfigError{Field: "Options.History", Problem: "is required"}
	case o.Matcher == nil:
		return nil, &ConfigError{Field: "Options.Matcher", Problem: "is required (matcher.New(nil) gives Autotask's rules)"}
	case o.Fields == nil:
		return nil, &ConfigError{Field: "Options.Fields", Problem: "is required (merge.New gives Autotask's rules)"}
	case o.WriteConcurrency < 0:
		return nil, &ConfigError{Field: "Options.WriteConcurrency", Problem: fmt.Sprintf("must be positive (0 for the default %d), got %d", DefaultWriteConcurrency, o.WriteConcurrency)}
	case o.JournalGrace < 0:
		return nil, &ConfigError{Field: "Options.JournalGrace", Problem: fmt.Sprintf("must not be negative (0 for the default %s), got %s", DefaultJournalGrace, o.JournalGrace)}
	case o.BatchSize < 0 || o.BatchSize > MaxPageSize:
		return nil, &ConfigError{Field: "Options.BatchSize", Problem: fmt.Sprintf("must be between 1 and %d (0 for the default), got %d", MaxPageSize, o.BatchSize)}
	}
	if o.WriteConcurrency == 0 {
		o.WriteConcurrency = DefaultWriteConcurrency
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.JournalGrace == 0 {
		o.JournalGrace = DefaultJournalGrace
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	s := &Syncer{opts: o, log: o.Logger, now: o.Clock.Now, running: map[string]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// History returns the Syncer's history store.
func (s *Syncer) History() HistoryStore { return s.opts.History }

func (s *Syncer) progress(org string, ph Phase, done, total int) {
	if s.opts.Progress != nil {
		// The directory and the contacts are read at once: one call at a
		// time.
		s.progressMu.Lock()
		defer s.progressMu.Unlock()
		s.opts.Progress(Progress{OrgID: org, Phase: ph, Done: done, Total: total})
	}
}

// Plan reads the directory and the company's contacts and computes what a
// run would write, without writing anything anywhere: a dry run. The plan
// prints as a readable diff (Plan.WriteTo) and can be applied with Apply.
func (s *Syncer) Plan(ctx context.Context, org Org) (*Plan, error) {
	if err := validateOrg(org); err != nil {
		return nil, err
	}
	// The newest run, read before the links: Apply refuses the plan if
	// another run came (or finished) since, since the plan's creates may
	// have been made by it (R-RUN-7).
	runs, err := s.loadRuns(ctx, org.Config.ID)
	if err != nil {
		return nil, err
	}
	p, err := s.plan(ctx, org, nil, runs)
	if p != nil {
		p.basis = newestOf(runs)
		if err == nil {
			s.estimateCalls(p)
		}
	}
	return p, err
}

// runMark identifies the newest run of an organization and its state.
type runMark struct {
	id     int64
	status RunStatus
}

// loadRuns loads the organization's kept runs, newest first: once per run
// or plan, for the stale-plan check, the interrupted runs and the read
// mode.
func (s *Syncer) loadRuns(ctx context.Context, orgID string) ([]Run, error) {
	runs, err := s.opts.History.Runs(ctx, orgID, 0)
	if err != nil {
		return nil, fmt.Errorf("adsync: load the runs of %q: %w", orgID, err)
	}
	return runs, nil
}

func newestOf(runs []Run) runMark {
	if len(runs) == 0 {
		return runMark{}
	}
	return runMark{runs[0].ID, runs[0].Status}
}

// Apply applies a plan made by Plan (or PlanUndo) for the same
// organization, records the run (trigger forced, or undo) and returns it. A plan is applied once: links made by
// it are in the history afterwards, so planning again is cheap. A plan
// applied twice, or after another run of the organization started, is
// refused with ErrStalePlan: its creates may have been made already.
func (s *Syncer) Apply(ctx context.Context, org Org, p *Plan) (Run, error) {
	if p == nil {
		return Run{}, errors.New("adsync: Apply: nil plan")
	}
	if p.OrgID != org.Config.ID || p.CompanyID != org.Config.CompanyID {
		return Run{}, fmt.Errorf("adsync: Apply: the plan is for organization %q (company %d), not %q (company %d)",
			p.OrgID, p.CompanyID, org.Config.ID, org.Config.CompanyID)
	}
	trigger := TriggerForced
	if p.trigger != "" {
		trigger = p.trigger
	}
	return s.run(ctx, org, trigger, p, nil)
}

// Sync plans and applies one run of the organization, records it (R-RUN-4)
// and returns it. The error is non-nil when the run failed; the run record
// is returned either way once it was started. A disabled organization is
// refused with ErrOrgDisabled, a run already going on with ErrRunInProgress.
func (s *Syncer) Sync(ctx context.Context, org Org, trigger Trigger) (Run, error) {
	return s.run(ctx, org, trigger, nil, nil)
}

// Approve runs the organization again (trigger approval) with the
// deactivations held by run runID allowed past the guard (R-DEACT-4). Users
// who came back into scope since are not deactivated: the run plans afresh,
// and only the approved contacts skip the guard. ErrNothingHeld if that run
// held nothing; ErrNotFound if it is not in the history.
func (s *Syncer) Approve(ctx context.Context, org Org, runID int64) (Run, error) {
	held, err := s.opts.History.Run(ctx, org.Config.ID, runID)
	if err != nil {
		return Run{}, fmt.Errorf("adsync: approve run %d of %q: %w", runID, org.Config.ID, err)
	}
	if held.Trigger == TriggerUndo && held.Status == StatusHeld {
		return Run{}, fmt.Errorf("adsync: approve run %d of %q: it is an undo of run %d: %w: raise guard.min / guard.percent and undo run %d again",
			runID, org.Config.ID, held.UndoneRun, ErrRefused, held.UndoneRun)
	}
	if held.Status != StatusHeld || len(held.Held) == 0 {
		return Run{}, fmt.Errorf("adsync: approve run %d of %q (status %s): %w", runID, org.Config.ID, held.Status, ErrNothingHeld)
	}
	approved := make(map[int64]bool, len(held.Held))
	for _, h := range held.Held {
		approved[h.ContactID] = true
	}
	return s.run(ctx, org, TriggerApproval, nil, &approval{runID: runID, contacts: approved})
}

type approval struct {
	runID    int64
	contacts map[int64]bool
}

func validateOrg(org Org) error {
	if err := org.Config.Validate(); err != nil {
		// Which organization: a service runs many.
		return fmt.Errorf("adsync: organization %q: %w", org.Config.ID, err)
	}
	if org.Source == nil {
		return &ConfigError{Field: "source", Problem: "organization " + org.Config.ID + " has no directory source"}
	}
	return nil
}

// lock takes the organization's lock in this process and in the history
// store, which holds it across the processes sharing it (R-RUN-5).
func (s *Syncer) lock(ctx context.Context, orgID string) (*orgLock, error) {
	s.mu.Lock()
	if s.running[orgID] {
		s.mu.Unlock()
		return nil, fmt.Errorf("adsync: organization %q: %w", orgID, ErrRunInProgress)
	}
	s.running[orgID] = true
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		delete(s.running, orgID)
		s.mu.Unlock()
	}
	l, err := s.opts.History.TryLock(ctx, orgID)
	if err != nil {
		release()
		return nil, fmt.Errorf("adsync: lock organization %q: %w", orgID, err)
	}
	return &orgLock{orgID: orgID, lock: l, release: release}, nil
}

// orgLock is an organization's lock held by a run.
type orgLock struct {
	orgID   string
	lock    Lock
	release func()
}

// held returns an error wrapping ErrLockLost unless the store shows the
// lock is still held: a run stops writing as soon as it cannot (R-RUN-5).
func (l *orgLock) held(ctx context.Context) error {
	if err := l.lock.Held(ctx); err != nil {
		if !errors.Is(err, ErrLockLost) {
			err = fmt.Errorf("%w: %w", ErrLockLost, err)
		}
		return fmt.Errorf("adsync: organization %q: stopped writing: %w", l.orgID, err)
	}
	return nil
}

func (l *orgLock) unlock() {
	l.lock.Unlock()
	l.release()
}

// Running reports whether a run of the organization is going on in this
// process.
func (s *Syncer) Running(orgID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[orgID]
}

func (s *Syncer) run(ctx context.Context, org Org, trigger Trigger, p *Plan, appr *approval) (Run, error) {
	if err := validateOrg(org); err != nil {
		return Run{}, err
	}
	cfg := &org.Config
	if !cfg.Enabled {
		return Run{}, fmt.Errorf("adsync: organization %q: %w", cfg.ID, ErrOrgDisabled)
	}
	lk, err := s.lock(ctx, cfg.ID)
	if err != nil {
		return Run{}, err
	}
	defer lk.unlock()
	runs, err := s.loadRuns(ctx, cfg.ID)
	if err != nil {
		return Run{}, err
	}
	if err := s.interruptStale(ctx, cfg.ID, runs); err != nil {
		return Run{}, err
	}
	if p != nil {
		// Under the lock: no run can start between this check and the
		// writes. After marking interrupted runs: a run that was going on
		// when the plan was made, and died since, may have made the
		// plan's creates.
		if newest := newestOf(runs); newest != p.basis {
			return Run{}, fmt.Errorf("adsync: apply the plan of %q made at %s: %w: run %d (%s) was recorded since, and may have made its changes; plan again",
				cfg.ID, p.Planned.Format(time.RFC3339), ErrStalePlan, newest.id, newest.status)
		}
	}

	// The attempt is recorded first: the 24-hour schedule counts from it
	// (R-RUN-1), whatever happens next.
	run, err := s.opts.History.StartRun(ctx, Run{OrgID: cfg.ID, Trigger: trigger, Started: s.now(), Status: StatusRunning, TLS: TLSUnknown,
		By: Actor(ctx)})
	if err != nil {
		return Run{}, fmt.Errorf("adsync: record the start of a run of %q: %w", cfg.ID, err)
	}
	if appr != nil {
		run.ApprovedRun = appr.runID
	}
	if p != nil {
		run.UndoneRun = p.undoOf
	}
	log := s.log.With("org", cfg.ID, "run", run.ID)
	log.Info("run started", "trigger", trigger)
	s.observe("RunStarted", func(o Observer) {
		o.RunStarted(RunStart{OrgID: cfg.ID, RunID: run.ID, Trigger: trigger, Started: run.Started})
	})
	ctx, calls := withCallCounter(ctx)

	runErr := func() error {
		if p == nil {
			var err error
			if p, err = s.plan(ctx, org, appr, runs); err != nil {
				if p != nil {
					run.TLS = p.TLS
				}
				return err
			}
		}
		run.TLS = p.TLS
		return s.apply(ctx, org, p, &run, lk, log)
	}()

	if p != nil {
		run.FullRead = p.FullRead
		run.Counts.Read = p.Counts.Read
		run.Counts.Conflicts = p.Counts.Conflicts
		run.Counts.Unchanged = p.Counts.Unchanged
		run.Counts.Skipped = p.Counts.Skipped
		run.Counts.Held = p.Counts.Held
		run.Warnings = capList(append(run.Warnings, p.Warnings...))
		run.Skips = capList(p.Skips)
		for _, h := range p.Held {
			run.Held = append(run.Held, HeldDeactivation{UserID: h.UserID, ContactID: h.ContactID, Contact: h.Contact})
		}
	}
	run.Failures = capList(run.Failures)
	run.boundTexts()
	run.APICalls = calls.Load()
	run.Ended = s.now()
	switch {
	case runErr != nil && ctx.Err() != nil && errors.Is(runErr, context.Cause(ctx)):
		run.Status = StatusInterrupted // a graceful stop
		run.Error = runErr.Error()
	case runErr != nil:
		run.Status = StatusFailed
		run.Error = runErr.Error()
	case len(run.Held) > 0:
		run.Status = StatusHeld
	default:
		run.Status = StatusSucceeded
	}
	// The run is recorded even when ctx was cancelled: a graceful stop
	// finishes the batch in flight and records the run.
	if err := s.opts.History.FinishRun(context.WithoutCancel(ctx), run); err != nil {
		err = fmt.Errorf("adsync: record the end of run %d of %q: %w", run.ID, cfg.ID, err)
		runErr = errors.Join(runErr, err)
		s.finished(context.WithoutCancel(ctx), run, p, runErr)
		return run, runErr
	}
	s.finished(context.WithoutCancel(ctx), run, p, runErr)
	// The error is returned, not logged: whoever handles it reports it,
	// once (the Scheduler logs it when no OnRun takes it).
	log.Info("run finished", "status", run.Status, "counts", run.Counts, "api_calls", run.APICalls, "duration", run.Duration())
	return run, runErr
}

// interruptStale marks the organization's runs still recorded as running
// interrupted (R-RUN-7). With the organization's lock held, such a run can
// only be one whose process died, so this is right with several replicas
// sharing a store whatever the store does; HistoryStore.InterruptRuns at
// start is right with them only if the store skips organizations whose
// lock a live process holds (history/sqlite and history/postgres do).
func (s *Syncer) interruptStale(ctx context.Context, orgID string, runs []Run) error {
	for i := range runs {
		r := &runs[i]
		if r.Status != StatusRunning {
			continue
		}
		r.Status, r.Ended = StatusInterrupted, s.now()
		if r.Error == "" {
			r.Error = "the process running it stopped before it finished"
		}
		if err := s.opts.History.FinishRun(ctx, *r); err != nil {
			return fmt.Errorf("adsync: mark run %d of %q interrupted: %w", r.ID, orgID, err)
		}
		s.log.Warn("run found interrupted", "org", orgID, "run", r.ID, "started", r.Started)
	}
	return nil
}

func capList[T any](xs []T) []T {
	if len(xs) > MaxRunDetails {
		return xs[:MaxRunDetails]
	}
	return xs
}
