package adsync

import (
	"context"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"time"
)

// Outcome is what became of one change a run made or tried: the answer to
// "did adsync write this contact?".
type Outcome string

// The outcomes.
const (
	// OutcomeUnknown: the write may or may not have reached Autotask. Every
	// change but a create is logged with this outcome before it is sent (a
	// create's journal entry stands for it), so that a write neither the
	// log nor the create journal knows of cannot exist (R-RUN-7); it stays
	// so when the process died before the outcome was recorded, or when
	// the write's answer was lost (ErrOutcomeUnknown). A create the
	// process died with is logged by the run that reconciles its journal
	// entry (rule R-RUN-7).
	OutcomeUnknown Outcome = "unknown"
	// OutcomeWritten: the write was sent and Autotask accepted it.
	OutcomeWritten Outcome = "written"
	// OutcomeLinked: a new link to a contact that already agreed with the
	// user (active, no differing field): nothing was sent to Autotask.
	OutcomeLinked Outcome = "linked"
	// OutcomeUnlinked: a link dropped (ChangeUnlink); nothing was sent to
	// Autotask.
	OutcomeUnlinked Outcome = "unlinked"
	// OutcomeFailed: the write failed for this contact (ChangeRecord.Error
	// says why); the next run tries again (R-RUN-6).
	OutcomeFailed Outcome = "failed"
	// OutcomeHeld: a deactivation the guard held (R-DEACT-4); nothing was
	// sent.
	OutcomeHeld Outcome = "held"
	// OutcomeStopped: not sent because the run stopped first (a systemic
	// failure, a lost lock or a graceful stop).
	OutcomeStopped Outcome = "stopped"
)

// Sent reports whether the change reached Autotask for certain.
func (o Outcome) Sent() bool { return o == OutcomeWritten }

// ChangeRecord is one entry of a run's change log: a Change of the run's
// plan (the same type, so a record converts to the plan's change and back
// without loss) with what became of it. Seq is the change's position in
// the run's log: the plan's changes in order, then its held deactivations.
type ChangeRecord struct {
	OrgID string `json:"orgId"`
	RunID int64  `json:"runId"`
	Seq   int    `json:"seq"`
	Change
	Outcome Outcome `json:"outcome"`
	// Error is why the write failed (OutcomeFailed), safe to show.
	Error string `json:"error,omitempty"`
	// At is when the outcome was recorded.
	At time.Time `json:"at"`
}

// DefaultChangePage is the number of change records a ChangeStore returns
// per call when ChangeFilter.Limit is not set; MaxChangePage bounds it.
const (
	DefaultChangePage = 1000
	MaxChangePage     = 10000
)

// ChangeFilter selects change records of one organization. The zero value
// selects the first page of every change of every kept run.
type ChangeFilter struct {
	// RunID selects one run's changes; 0 selects every kept run's.
	RunID int64
	// UserID, ContactID and Kind, when set, select the changes of that
	// user, to that contact, of that kind.
	UserID    string
	ContactID int64
	Kind      ChangeKind
	// AfterRun and AfterSeq page: only records after (AfterRun, AfterSeq)
	// in (RunID, Seq) order are returned. Pass the last record's RunID and
	// Seq to get the next page; AfterRun 0 starts at the first record.
	AfterRun int64
	AfterSeq int
	// Limit is the page size: at most this many records (≤ 0:
	// DefaultChangePage; above MaxChangePage: MaxChangePage).
	Limit int
}

// PageSize returns the number of records a page of f holds at most.
func (f ChangeFilter) PageSize() int {
	switch {
	case f.Limit <= 0:
		return DefaultChangePage
	case f.Limit > MaxChangePage:
		return MaxChangePage
	}
	return f.Limit
}

// Match reports whether r is selected by f's run, user, contact, kind and
// paging position, for stores that filter in Go.
func (f ChangeFilter) Match(r *ChangeRecord) bool {
	switch {
	case f.RunID != 0 && r.RunID != f.RunID,
		f.UserID != "" && r.UserID != f.UserID,
		f.ContactID != 0 && r.ContactID != f.ContactID,
		f.Kind != "" && r.Kind != f.Kind:
		return false
	}
	return r.RunID > f.AfterRun || (r.RunID == f.AfterRun && (f.AfterRun == 0 || r.Seq > f.AfterSeq))
}

// Written names the change records of a run that were logged before their
// writes (OutcomeUnknown) and whose writes Autotask accepted: those with
// Seq in [From, To) still OutcomeUnknown when ChangeStore.PutOutcomes
// takes it. At is when the outcomes were recorded. The zero value names
// none.
type Written struct {
	From, To int
	At       time.Time
}

// Validate reports a range that names no records in a sensible way: a
// negative From, or To before From.
func (w Written) Validate() error {
	switch {
	case w.From < 0:
		return fmt.Errorf("adsync: written records: From is negative (%d)", w.From)
	case w.To < w.From:
		return fmt.Errorf("adsync: written records: To (%d) is before From (%d)", w.To, w.From)
	}
	return nil
}

// Covers reports whether w marks record r as written: r's Seq is in the
// range and its outcome is still OutcomeUnknown. For stores that apply the
// range in Go.
func (w Written) Covers(r *ChangeRecord) bool {
	return r.Seq >= w.From && r.Seq < w.To && r.Outcome == OutcomeUnknown
}

// ChangeStore keeps the change log of each run: every contact write the
// run made or tried, with its outcome. The log is part of the run: it is
// kept exactly as long as the run record, and FinishRun removes a pruned
// run's log with it (R-RUN-3).
type ChangeStore interface {
	// PutChanges inserts or replaces change records of run runID, keyed by
	// (RunID, Seq), and inserts or replaces links as PutLinks does, in one
	// atomic step: the Syncer logs a batch's changes (creates aside) with
	// its create journal before it sends them, and their outcomes with the
	// links they made after (PutOutcomes), so that a crash can never leave
	// a write in Autotask that neither the log nor the journal knows of
	// (R-RUN-7). The store sets
	// each record's OrgID and RunID; a record naming another organization
	// or run is refused and nothing is written. An error wrapping
	// ErrNotFound if run runID of the organization is not kept.
	PutChanges(ctx context.Context, orgID string, runID int64, changes []ChangeRecord, links []Link) error
	// PutOutcomes records the outcomes of a batch of run runID's changes
	// after their writes, and inserts or replaces links as PutLinks does,
	// in one atomic step. First every record of the run already stored
	// with Seq in [w.From, w.To) and OutcomeUnknown becomes OutcomeWritten
	// with At set to w.At, its other fields unchanged; then changes are
	// inserted or replaced as PutChanges does, whatever their Seq. The
	// Syncer logs every change but a create before its write, so after
	// the writes it sends only what is not simply "written" (failures,
	// lost answers, stops, links without a write, creates) and the next
	// batch's records: a daily run's outcomes cost a statement per batch,
	// not a second copy of every record. Refused as PutChanges, and when
	// w is invalid (Written.Validate); nothing is written then.
	PutOutcomes(ctx context.Context, orgID string, runID int64, w Written, changes []ChangeRecord, links []Link) error
	// Changes returns a page of the organization's change records selected
	// by f, in (RunID, Seq) order, at most f.PageSize() of them. Records of
	// runs no longer kept are gone.
	Changes(ctx context.Context, orgID string, f ChangeFilter) ([]ChangeRecord, error)
}

// WriteTo writes the record as Plan.WriteTo writes a change (a line with
// the kind, user, contact and rule, then a "before → after" line per
// field), its outcome first, and the error of a failed write.
func (r *ChangeRecord) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	r.write(cw, string(r.Outcome)+" ")
	if r.Error != "" {
		fmt.Fprintf(cw, "    error: %s\n", r.Error)
	}
	return cw.n, cw.err
}

// Writes reports whether applying the change sends a write to Autotask: a
// new link to an active contact that already agrees with its user sends
// nothing.
func (c *Change) Writes() bool {
	return c.Kind != ChangeUnlink && (c.Kind != ChangeLink || len(c.Fields) > 0 || c.Active != nil)
}

// record returns the change's log record with the given outcome, without
// its applying state.
func (c *Change) record(seq int, o Outcome, err error, at time.Time) ChangeRecord {
	pub := Change{Kind: c.Kind, Rule: c.Rule, UserID: c.UserID, User: c.User, ContactID: c.ContactID,
		Contact: c.Contact, Fields: slices.Clone(c.Fields), Resolution: c.Resolution}
	if c.Active != nil {
		pub.Active = ptr(*c.Active)
	}
	for _, l := range c.Unlinked {
		l.Written = maps.Clone(l.Written)
		pub.Unlinked = append(pub.Unlinked, l)
	}
	r := ChangeRecord{Seq: seq, Change: pub, Outcome: o, At: at}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// Changes returns a page of the change log of an organization's kept runs
// selected by f (see ChangeFilter for paging). A run that is not kept (never
// made, pruned, or another organization's) is refused with an error
// wrapping ErrNotFound.
func (s *Syncer) Changes(ctx context.Context, orgID string, f ChangeFilter) ([]ChangeRecord, error) {
	if f.RunID != 0 {
		if _, err := s.opts.History.Run(ctx, orgID, f.RunID); err != nil {
			return nil, fmt.Errorf("adsync: changes of run %d of %q (kept: the newest %d runs): %w", f.RunID, orgID, KeepRuns, err)
		}
	}
	rs, err := s.opts.History.Changes(ctx, orgID, f)
	if err != nil {
		return nil, fmt.Errorf("adsync: load the changes of %q: %w", orgID, err)
	}
	return rs, nil
}

// AllChanges iterates over every change record selected by f, page by page,
// from f's position on. It stops at the first error, which it yields.
func (s *Syncer) AllChanges(ctx context.Context, orgID string, f ChangeFilter) iter.Seq2[ChangeRecord, error] {
	return func(yield func(ChangeRecord, error) bool) {
		for {
			page, err := s.Changes(ctx, orgID, f)
			if err != nil {
				yield(ChangeRecord{}, err)
				return
			}
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
			}
			if len(page) < f.PageSize() {
				return
			}
			last := page[len(page)-1]
			f.AfterRun, f.AfterSeq = last.RunID, last.Seq
		}
	}
}
