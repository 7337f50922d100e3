package adsync

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Observer receives the events of a Syncer's runs, for alerts, metrics and
// audit trails built outside the library (notify and metrics are built on
// it). Set it as Options.Observer; nil observes nothing.
//
// The contract:
//
//   - Every method of one run is called from the goroutine that called
//     Sync, Apply or Approve, in order: RunStarted once, Wrote once per
//     write attempted, RunFinished once. Runs of different organizations
//     go on at once, so an Observer shared by them must be safe for
//     concurrent use.
//   - A method must not block: the run waits for it. Anything slow (a
//     network call, a disk write) belongs on a queue the Observer owns.
//   - Methods return nothing: an Observer cannot fail or change a run. A
//     panic in a method is recovered and logged, and the run goes on.
//   - Events are given by value; an Observer may keep them. Their error
//     texts are the run record's, safe to show (no secrets).
//   - Only runs that were recorded are observed: a run refused before it
//     started (disabled organization, ErrRunInProgress, a bad
//     configuration) calls nothing. RunFinished is called after the run
//     was recorded as finished, for every status.
type Observer interface {
	// RunStarted is called once the run is recorded as running.
	RunStarted(RunStart)
	// Wrote is called for each contact write the run attempted, after the
	// batch holding it, with its outcome; not for a change that sends
	// nothing (a link to a contact that already agrees, an unlink).
	Wrote(WriteEvent)
	// RunFinished is called once the run is recorded as finished.
	RunFinished(RunEnd)
}

// RunStart is a run that started.
type RunStart struct {
	OrgID   string
	RunID   int64
	Trigger Trigger
	Started time.Time
}

// WriteEvent is one contact write and its outcome.
type WriteEvent struct {
	OrgID string
	RunID int64
	Kind  ChangeKind
	// UserID is the directory user; ContactID the contact (the new one for
	// a create that succeeded, 0 for one that failed).
	UserID    string
	ContactID int64
	// Err is nil when the write went through. A write stopped by a
	// systemic failure of the run counts as failed.
	Err error
}

// RunEnd is a finished run, with what the run record does not keep.
type RunEnd struct {
	// Run is the run as recorded: status, counts, error, held deactivations.
	Run Run
	// Err is the error Sync returned, nil for a run that did not fail.
	Err error
	// NewConflicts counts the conflicts first seen by this run.
	NewConflicts int
	// OpenConflicts counts the organization's open conflicts after the
	// run, -1 when they could not be read.
	OpenConflicts int
	// CertExpiry is the directory server certificate's expiry seen by the
	// run's check, zero when unknown (Azure, no connection).
	CertExpiry time.Time
	// Reads are the durations of the phases PhaseReadDirectory and
	// PhaseReadContacts, for those the run completed.
	Reads map[Phase]time.Duration
	// Budget is the contact store's API budget after the run, when the
	// store reports one (APIBudgetReader).
	Budget *APIBudget
}

// APIBudget is a reading of a rate-limited API's budget, such as Autotask's
// ThresholdInformation.
type APIBudget struct {
	// Used and Limit are the requests made in the current window and the
	// window's limit.
	Used, Limit int
	// PaceAt is the share of Limit (0–1) past which the client slows down.
	PaceAt float64
	// StopAt is the share of Limit (0–1) at which the client stops making
	// calls; 0 when it does not say (read as 1).
	StopAt float64
}

// Share is Used/Limit, 0 when the limit is unknown.
func (b APIBudget) Share() float64 {
	if b.Limit <= 0 {
		return 0
	}
	return float64(b.Used) / float64(b.Limit)
}

// Paced reports whether the budget is past its pacing threshold.
func (b APIBudget) Paced() bool { return b.Limit > 0 && b.PaceAt > 0 && b.Share() >= b.PaceAt }

// APIBudgetReader is an optional capability of a ContactStore that knows
// its API budget (autotask.Client does). The Syncer reads it at the end of
// each run, for RunEnd.Budget. It must not do I/O: it reports what the
// store last learned.
type APIBudgetReader interface {
	// APIBudget returns the last reading, false when there is none yet.
	APIBudget() (APIBudget, bool)
}

// Observers returns an Observer that calls each of obs in turn (nil ones
// skipped), each call protected on its own: a panic in one does not keep
// the others from the event.
func Observers(obs ...Observer) Observer {
	var list multiObserver
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	return list
}

type multiObserver []Observer

func (m multiObserver) RunStarted(e RunStart) { m.each(func(o Observer) { o.RunStarted(e) }) }
func (m multiObserver) Wrote(e WriteEvent)    { m.each(func(o Observer) { o.Wrote(e) }) }
func (m multiObserver) RunFinished(e RunEnd)  { m.each(func(o Observer) { o.RunFinished(e) }) }

// each calls f for every observer; the first panic is raised again once
// all were called, for the Syncer to log.
func (m multiObserver) each(f func(Observer)) {
	var first any
	for _, o := range m {
		func() {
			defer func() {
				if r := recover(); r != nil && first == nil {
					first = r
				}
			}()
			f(o)
		}()
	}
	if first != nil {
		panic(first)
	}
}

// safely calls f, recovering a panic: an observer cannot stop a run.
func safely(log *slog.Logger, method string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("observer panicked", "method", method, "panic", fmt.Sprint(r))
		}
	}()
	f()
}

// observe calls the Syncer's observer, if any, protected from its panics.
func (s *Syncer) observe(method string, f func(Observer)) {
	if o := s.opts.Observer; o != nil {
		safely(s.log, method, func() { f(o) })
	}
}

// observeWrites reports the outcomes of one batch's writes.
func (s *Syncer) observeWrites(orgID string, runID int64, results []result) {
	if s.opts.Observer == nil {
		return
	}
	for i := range results {
		r := &results[i]
		if !r.ch.Writes() {
			continue // a link as it is, an unlink: nothing was sent
		}
		e := WriteEvent{OrgID: orgID, RunID: runID, Kind: r.ch.Kind, UserID: r.ch.UserID, ContactID: r.ch.ContactID, Err: r.err}
		if r.ch.Kind == ChangeCreate {
			e.ContactID = r.id
		}
		s.observe("Wrote", func(o Observer) { o.Wrote(e) })
	}
}

// finished reports the end of a run to the observer. The open conflicts are
// read back from the history only when someone observes them.
func (s *Syncer) finished(ctx context.Context, run Run, p *Plan, runErr error) {
	if s.opts.Observer == nil {
		return
	}
	e := RunEnd{Run: run, Err: runErr, OpenConflicts: -1}
	if p != nil {
		e.CertExpiry = p.certExpiry
		e.Reads = p.reads
		// A run that stopped did not save its conflicts: the next one
		// sees them as new.
		for i := 0; i < len(p.Conflicts) && (run.Status == StatusSucceeded || run.Status == StatusHeld); i++ {
			if p.Conflicts[i].FirstSeen.Equal(p.Planned) {
				e.NewConflicts++
			}
		}
	}
	if cs, err := s.opts.History.Conflicts(ctx, run.OrgID); err == nil {
		e.OpenConflicts = len(cs)
	}
	if br, ok := s.opts.Store.(APIBudgetReader); ok {
		if b, ok := br.APIBudget(); ok {
			e.Budget = &b
		}
	}
	s.observe("RunFinished", func(o Observer) { o.RunFinished(e) })
}
