package adsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
)

// apply writes a plan in batches of at most BatchSize changes, with at most
// WriteConcurrency writes in flight, saving links after each batch. Creates
// are journaled (a pending link) before they are sent (R-RUN-7). A write
// that fails for one contact is recorded on the run and the run goes on
// (R-RUN-6); a systemic failure stops it.
func (s *Syncer) apply(ctx context.Context, org Org, p *Plan, run *Run, lk *orgLock, log *slog.Logger) error {
	cfg := &org.Config
	h := s.opts.History
	if err := lk.held(ctx); err != nil {
		return err
	}
	if len(p.movePut) > 0 || len(p.moveDrop) > 0 {
		// A directory move (R-LINK-6): the new keys are saved before the
		// old are deleted, so that no link is lost (R-RUN-7); a run that
		// finds both drops the old.
		if err := h.PutLinks(ctx, cfg.ID, p.movePut); err != nil {
			return fmt.Errorf("adsync: save the links carried over a directory move of %q: %w", cfg.ID, err)
		}
		if err := h.DeleteLinks(ctx, cfg.ID, p.moveDrop); err != nil {
			return fmt.Errorf("adsync: drop the old keys of links carried over a directory move of %q: %w", cfg.ID, err)
		}
	}
	if len(p.dropLinks) > 0 {
		// A resolution that takes a contact over drops the other user's
		// link here, before its own change is sent: its change, which
		// keeps the dropped link (Change.Unlinked), is logged first, so
		// that the link is never gone from both the store and the log.
		var taken []ChangeRecord
		for i := range p.Changes {
			if ch := &p.Changes[i]; slices.ContainsFunc(ch.Unlinked, func(l Link) bool { return l.UserID != ch.UserID }) {
				taken = append(taken, ch.record(i, OutcomeUnknown, nil, s.now()))
			}
		}
		if len(taken) > 0 {
			if err := h.PutChanges(ctx, cfg.ID, run.ID, taken, nil); err != nil {
				return fmt.Errorf("adsync: log the %d contacts taken over by resolutions of %q: %w", len(taken), cfg.ID, err)
			}
		}
		if err := h.DeleteLinks(ctx, cfg.ID, p.dropLinks); err != nil {
			return fmt.Errorf("adsync: drop stale links of %q: %w", cfg.ID, err)
		}
	}
	if len(p.markLinks) > 0 {
		// The grace period's clock (R-DEACT-7): saved before the writes,
		// whose links carry the same time.
		if err := h.PutLinks(ctx, cfg.ID, p.markLinks); err != nil {
			return fmt.Errorf("adsync: save the missing times of %q: %w", cfg.ID, err)
		}
	}
	if len(p.confirmLinks) > 0 {
		// A crash may have come between the create and the billing
		// product: assign it again (assignments are idempotent). One that
		// fails is a failed write, as in applyBatch: its create stays
		// journaled, and the next run reconciles it and tries again.
		// A create no run counted (its answer was lost, or its run was
		// stopped) is counted by the run that finds it.
		for _, isNew := range p.confirmNew {
			if isNew {
				run.Counts.Created++
			}
		}
		confirmed := p.confirmLinks
		if b, ok := s.opts.Store.(BillingProductAssigner); ok && p.billing != 0 {
			confirmed = nil
			var failed []Link
			for _, l := range p.confirmLinks {
				if err := b.AssignBillingProduct(ctx, l.ContactID, p.billing); err != nil {
					err = fmt.Errorf("adsync: assign billing product %d to reconciled contact %d of user %s (the next run tries again): %w",
						p.billing, l.ContactID, l.UserID, err)
					if IsSystemic(err) {
						return err
					}
					run.Counts.FailedWrites++
					run.Failures = append(run.Failures, WriteFailure{UserID: l.UserID, ContactID: l.ContactID, Kind: ChangeCreate, Error: err.Error()})
					l.Pending = true // journaled with its id: counted once
					failed = append(failed, l)
					continue
				}
				confirmed = append(confirmed, l)
			}
			if len(failed) > 0 {
				if err := h.PutLinks(ctx, cfg.ID, failed); err != nil {
					return fmt.Errorf("adsync: save reconciled links of %q: %w", cfg.ID, err)
				}
			}
		}
		if len(confirmed) > 0 {
			if err := h.PutChanges(ctx, cfg.ID, run.ID, reconciled(p, confirmed, s.now()), confirmed); err != nil {
				return fmt.Errorf("adsync: save reconciled links of %q: %w", cfg.ID, err)
			}
		}
	}

	total := len(p.Changes)
	s.progress(cfg.ID, PhaseApply, 0, total)
	var stop error
	done := 0 // changes logged by applyBatch
	for start := 0; start < total && stop == nil; start += s.opts.BatchSize {
		if err := ctx.Err(); err != nil {
			stop = err
			break
		}
		// Another process may have the organization once the lock is
		// lost: not one more write (R-RUN-5).
		if stop = lk.held(ctx); stop != nil {
			break
		}
		end := min(start+s.opts.BatchSize, total)
		batch, next := p.Changes[start:end], p.Changes[end:min(end+s.opts.BatchSize, total)]
		stop = s.applyBatch(ctx, cfg, p, start, batch, next, start > 0, run, log)
		s.progress(cfg.ID, PhaseApply, min(start+len(batch), total), total)
		done = start + len(batch)
	}
	// The log also tells what was not sent: the held deactivations, and
	// the changes a stop left (R-DEACT-4, R-RUN-6).
	if err := s.logUnsent(ctx, cfg.ID, p, done, run.ID); err != nil {
		return errors.Join(stop, err)
	}

	// Conflicts are recomputed by every run (R-CONF-5); an incremental read
	// saw only some users, so the others' conflicts stand.
	if stop == nil {
		cs := p.Conflicts
		if !p.FullRead {
			var err error
			if cs, err = s.mergeConflicts(ctx, cfg.ID, p); err != nil {
				return err
			}
		}
		if err := h.ReplaceConflicts(ctx, cfg.ID, cs); err != nil {
			return fmt.Errorf("adsync: save the conflicts of %q: %w", cfg.ID, err)
		}
		// A failed write is retried by the next run (R-RUN-6): an
		// incremental read from this run's cursor would not deliver its
		// user again, so the cursor is kept only when every write went
		// through (the next run reads from the previous cursor).
		if run.Counts.FailedWrites == 0 {
			run.Cursor = p.Cursor
		}
	}
	return stop
}

func (s *Syncer) mergeConflicts(ctx context.Context, orgID string, p *Plan) ([]Conflict, error) {
	old, err := s.opts.History.Conflicts(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("adsync: load the conflicts of %q: %w", orgID, err)
	}
	// The users this read decided for: those with a change, a conflict or
	// a skip, and those it delivered disabled (out of scope, R-SCOPE-8).
	read := make(map[string]bool, len(p.Changes)+len(p.Conflicts)+len(p.Skips)+len(p.disabled))
	for _, c := range p.Conflicts {
		read[c.UserID] = true
	}
	for _, ch := range p.Changes {
		read[ch.UserID] = true
	}
	for _, sk := range p.Skips {
		read[sk.UserID] = true
	}
	for id := range p.disabled {
		read[id] = true
	}
	cs := append([]Conflict(nil), p.Conflicts...)
	for _, c := range old {
		if !read[c.UserID] {
			cs = append(cs, c)
		}
	}
	return cs, nil
}

// result is the outcome of one write.
type result struct {
	ch      *Change
	id      int64 // created contact id, also when a later step failed
	err     error
	notSent bool // never started: a systemic failure came first
}

// maybeCreated reports whether a create that failed with err may all the
// same have made the contact (ContactStore.Create): its journal entry must
// stay for a later run to find the contact (R-RUN-7).
func maybeCreated(err error) bool {
	return errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// applyBatch applies the changes p.Changes[start:start+len(batch)]. Its
// last save also logs the next batch's changes before they are sent: one
// commit per batch, as before the change log; prelogged says the previous
// batch logged this one's.
func (s *Syncer) applyBatch(ctx context.Context, cfg *OrgConfig, p *Plan, start int, batch, next []Change, prelogged bool,
	run *Run, log *slog.Logger) error {
	h := s.opts.History
	now := s.now()

	// Journal the creates and log the other changes (outcome unknown)
	// before sending them, in one step: a write is never in Autotask
	// without being in the log or the journal (R-RUN-7). A create is
	// logged once, with its outcome: its journal entry stands for it until
	// then, and a later run that reconciles it logs it.
	var journal []Link
	logs := make([]ChangeRecord, len(batch))
	for i := range batch {
		ch := &batch[i]
		logs[i] = ch.record(start+i, OutcomeUnknown, nil, now)
		if ch.Kind == ChangeCreate {
			journal = append(journal, Link{OrgID: cfg.ID, UserID: ch.UserID, Pending: true, Active: true, After: p.maxContactID,
				Created: true, Written: written(ch), LinkedAt: now})
		}
	}
	var pre []ChangeRecord
	if !prelogged {
		pre = preRecords(batch, start, now)
	}
	if len(pre) > 0 || len(journal) > 0 {
		if err := h.PutChanges(ctx, cfg.ID, run.ID, pre, journal); err != nil {
			return fmt.Errorf("adsync: log %d changes and journal %d creates of %q: %w", len(pre), len(journal), cfg.ID, err)
		}
	}

	// Writes, at most WriteConcurrency at once. A systemic error, or
	// cancelling ctx (Ctrl-C, a deadline), stops starting writes at once;
	// the writes in flight finish on a context that is not cancelled, so
	// that a graceful stop knows their outcome and saves their links.
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	results := make([]result, len(batch))
	sem := make(chan struct{}, s.opts.WriteConcurrency)
	var wg sync.WaitGroup
	for i := range batch {
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-wctx.Done():
		case <-ctx.Done():
		}
		if err := cmp.Or(context.Cause(wctx), context.Cause(ctx)); err != nil {
			if acquired {
				<-sem
			}
			results[i] = result{ch: &batch[i], err: err, notSent: true}
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			r := s.write(wctx, cfg, p, &batch[i])
			if r.err != nil && IsSystemic(r.err) {
				cancel()
			}
			results[i] = r
		}(i)
	}
	wg.Wait()
	s.observeWrites(cfg.ID, run.ID, results)

	// Save what was written; record what failed.
	var put []Link
	var drop []string
	var stop error
	for i := range results {
		r := &results[i]
		ch := r.ch
		logs[i] = outcome(logs[i], r, s.now())
		log.Debug("write", "kind", ch.Kind, "rule", ch.Rule, "user", ch.UserID, "contact", logs[i].ContactID,
			"fields", len(ch.Fields), "outcome", logs[i].Outcome)
		if r.err != nil && r.id != 0 {
			// Created, but its billing product failed: the contact
			// counts, and its journal entry stays, now with the contact's
			// id, for the next run to reconcile and assign the product
			// again (R-FIELD-7, R-RUN-6) without counting it twice.
			run.Counts.Created++
			put = append(put, Link{OrgID: cfg.ID, UserID: ch.UserID, ContactID: r.id, Pending: true, Created: true, Active: true,
				After: p.maxContactID, Written: written(ch), LinkedAt: now})
		}
		if r.err != nil {
			if ch.Kind == ChangeCreate && r.id == 0 && (r.notSent || !maybeCreated(r.err)) {
				// Certainly not created: the journal entry goes, and the
				// next run plans the user afresh. One that may have been
				// created stays journaled, never sent again by this run
				// (R-RUN-7).
				drop = append(drop, ch.UserID)
			}
			if IsSystemic(r.err) {
				// The first cause, not the cancellations it caused.
				if stop == nil || (errors.Is(stop, context.Canceled) && !errors.Is(r.err, context.Canceled)) {
					stop = r.err
				}
				continue
			}
			run.Counts.FailedWrites++
			run.Failures = append(run.Failures, WriteFailure{UserID: ch.UserID, ContactID: ch.ContactID, Kind: ch.Kind, Error: r.err.Error()})
			log.Warn("write failed", "err", r.err)
			continue
		}
		switch ch.Kind {
		case ChangeCreate:
			run.Counts.Created++
			put = append(put, Link{OrgID: cfg.ID, UserID: ch.UserID, ContactID: r.id, Created: true, Active: true, Written: written(ch), LinkedAt: now, SyncedAt: now})
		case ChangeLink:
			run.Counts.Linked++
			if !ch.Writes() {
				run.Counts.LinkedAsIs++
			}
			if ch.linkOp == linkRestore { // an undo makes a dropped link again, as it was
				l := *ch.link
				l.OrgID = cfg.ID
				put = append(put, l)
				break
			}
			put = append(put, Link{OrgID: cfg.ID, UserID: ch.UserID, ContactID: ch.ContactID, Active: true, Written: written(ch), LinkedAt: now, SyncedAt: now})
		case ChangeReactivate:
			run.Counts.Reactivated++
			if (ch.link == nil || ch.link.UserID == "") && ch.linkOp == linkKeep { // a new link (R-MATCH-2, R-MATCH-4, R-CONF-6)
				put = append(put, Link{OrgID: cfg.ID, UserID: ch.UserID, ContactID: ch.ContactID, Active: true, Written: written(ch), LinkedAt: now, SyncedAt: now})
				break
			}
			put, drop = afterWrite(ch, now, put, drop)
		case ChangeUnlink:
			put, drop = afterWrite(ch, now, put, drop)
		case ChangeUpdate, ChangeDeactivate:
			if ch.Kind == ChangeUpdate {
				run.Counts.Updated++
			} else {
				run.Counts.Deactivated++
			}
			put, drop = afterWrite(ch, now, put, drop)
		}
	}
	// Saved even when the run stops: what was written must be linked, and
	// logged with its outcome, in one step. The changes logged before
	// their writes that were written are marked as a range, not written
	// again (the daily run's cost); the store gets whole records only for
	// the other outcomes, the creates and the next batch.
	sctx := context.WithoutCancel(ctx)
	w := Written{At: s.now()}
	rest := slices.DeleteFunc(logs, func(r ChangeRecord) bool { return r.Kind != ChangeCreate && r.Outcome == OutcomeWritten })
	if len(rest) < len(batch) { // a range only when it marks a record
		w.From, w.To = start, start+len(batch)
	}
	rest = append(rest, preRecords(next, start+len(batch), s.now())...)
	if err := h.PutOutcomes(sctx, cfg.ID, run.ID, w, rest, put); err != nil {
		return errors.Join(stop, fmt.Errorf("adsync: save %d links and the outcomes of %d changes of %q: %w", len(put), len(batch), cfg.ID, err))
	}
	if len(drop) > 0 {
		if err := h.DeleteLinks(sctx, cfg.ID, drop); err != nil {
			return errors.Join(stop, fmt.Errorf("adsync: drop %d links of %q (refused creates, undone links): %w", len(drop), cfg.ID, err))
		}
	}
	if stop != nil {
		if ctx.Err() != nil && errors.Is(stop, context.Cause(ctx)) {
			return fmt.Errorf("adsync: apply the plan of %q: stopped (the run was cancelled): the writes in flight finished and are saved; the next run goes on: %w", cfg.ID, stop)
		}
		return fmt.Errorf("adsync: apply the plan of %q: stopped after a systemic failure: %w", cfg.ID, stop)
	}
	return nil
}

// write performs one change against the store.
func (s *Syncer) write(ctx context.Context, cfg *OrgConfig, p *Plan, ch *Change) result {
	r := result{ch: ch}
	wrap := func(err error) error {
		return &ContactError{Op: ch.Kind, UserID: ch.UserID, User: ch.User, ContactID: ch.ContactID, Err: err}
	}
	if ch.Kind == ChangeCreate {
		nc := NewContact{CompanyID: cfg.CompanyID, Values: ch.values()}
		id, err := s.opts.Store.Create(ctx, nc)
		if err == nil && id <= 0 {
			// A store that cannot say which contact it made: as if the
			// answer was lost (R-RUN-7), never a link to contact 0.
			err = fmt.Errorf("the contact store answered the create without a contact id: %w", ErrOutcomeUnknown)
		}
		if err != nil {
			r.err = wrap(err)
			return r
		}
		r.id = id
		if p.billing != 0 {
			if b, ok := s.opts.Store.(BillingProductAssigner); ok {
				if err := b.AssignBillingProduct(ctx, id, p.billing); err != nil {
					// The contact exists: the next run reconciles it
					// and assigns the product again.
					r.err = wrap(fmt.Errorf("contact %d was created, but assigning billing product %d failed (the next run tries again): %w",
						id, p.billing, err))
				}
			}
		}
		return r
	}
	u := ContactUpdate{ContactID: ch.ContactID, CompanyID: cfg.CompanyID, Fields: ch.set, Values: ch.values(), Active: ch.Active}
	if u.Empty() {
		return r // a link to a contact that already agrees: no write
	}
	if err := s.opts.Store.Update(ctx, u); err != nil {
		r.err = wrap(err)
	}
	return r
}

// written returns the values a change writes, as kept on its link.
func written(ch *Change) map[Field]string {
	if ch.set == 0 {
		return nil
	}
	m := make(map[Field]string, len(ch.Fields))
	for _, f := range ch.Fields {
		if ch.set.Has(f.Field) {
			m[f.Field] = f.After
		}
	}
	return m
}

// preRecords returns the records that log a batch's changes before they are
// sent: all but the creates, whose journal entries stand for them.
func preRecords(batch []Change, start int, now time.Time) []ChangeRecord {
	var pre []ChangeRecord
	for i := range batch {
		if batch[i].Kind != ChangeCreate {
			pre = append(pre, batch[i].record(start+i, OutcomeUnknown, nil, now))
		}
	}
	return pre
}

// reconciled returns the log records of the creates a crashed run made and
// this one found (R-RUN-7): the crashed run had them in its create journal
// only. They come after the plan's changes and held deactivations.
func reconciled(p *Plan, links []Link, now time.Time) []ChangeRecord {
	recs := make([]ChangeRecord, len(links))
	for i, l := range links {
		ch := Change{Kind: ChangeCreate, Rule: "R-RUN-7", UserID: l.UserID, User: "user " + l.UserID, ContactID: l.ContactID}
		for f := Field(0); f < NumFields; f++ {
			if v, ok := l.Written[f]; ok {
				ch.Fields = append(ch.Fields, FieldChange{Field: f, After: v})
			}
		}
		recs[i] = ch.record(len(p.Changes)+len(p.Held)+i, OutcomeWritten, nil, now)
	}
	return recs
}

// relinked returns the link of an already linked user after its change.
func relinked(ch *Change, now time.Time) Link {
	var l Link
	if ch.link != nil {
		l = *ch.link
	}
	l.SyncedAt = now
	l.Active = ch.Kind != ChangeDeactivate
	if ch.set != 0 {
		// What the sync last wrote, per field: the base of the three-way
		// comparison (R-FIELD-9).
		l.Written = mergeWritten(l.Written, ch)
	} else {
		l.Written = maps.Clone(l.Written)
	}
	return l
}

// outcome completes a change's log record with the result of its write.
func outcome(rec ChangeRecord, r *result, now time.Time) ChangeRecord {
	rec.At = now
	if r.id != 0 {
		rec.ContactID = r.id // created, also when a later step failed
	}
	switch {
	case r.notSent:
		rec.Outcome = OutcomeStopped
	case r.err == nil && r.ch.Kind == ChangeUnlink:
		rec.Outcome = OutcomeUnlinked
	case r.err == nil && !r.ch.Writes():
		rec.Outcome = OutcomeLinked
	case r.err == nil:
		rec.Outcome = OutcomeWritten
	case errors.Is(r.err, ErrOutcomeUnknown):
		rec.Outcome, rec.Error = OutcomeUnknown, r.err.Error()
	default:
		rec.Outcome, rec.Error = OutcomeFailed, r.err.Error()
	}
	return rec
}

// logUnsent logs the changes never sent: those from index from on, which a
// stop left, and the held deactivations (logged after the changes).
func (s *Syncer) logUnsent(ctx context.Context, orgID string, p *Plan, from int, runID int64) error {
	now := s.now()
	var logs []ChangeRecord
	for i := from; i < len(p.Changes); i++ {
		logs = append(logs, p.Changes[i].record(i, OutcomeStopped, nil, now))
	}
	for i := range p.Held {
		logs = append(logs, p.Held[i].record(len(p.Changes)+i, OutcomeHeld, nil, now))
	}
	if len(logs) == 0 {
		return nil
	}
	if err := s.opts.History.PutChanges(context.WithoutCancel(ctx), orgID, runID, logs, nil); err != nil {
		return fmt.Errorf("adsync: log %d changes not sent by run %d of %q: %w", len(logs), runID, orgID, err)
	}
	return nil
}
