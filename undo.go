package adsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What a written change does to its user's link (Change.linkOp): the
// Syncer's own changes keep the link up to date; an undo may return a link
// to what it was, or leave links alone.
const (
	linkKeep    uint8 = iota // the link follows the change
	linkDrop                 // the link is removed: the run being undone made it
	linkLeave                // links are not touched: the user's link is not to this contact any more
	linkRestore              // the link is made again as it was (Change.link): the run being undone dropped it
)

// afterWrite adds what a written update, reactivation or deactivation does
// to its user's link to the links to put or drop.
func afterWrite(ch *Change, now time.Time, put []Link, drop []string) ([]Link, []string) {
	switch ch.linkOp {
	case linkDrop:
		return put, append(drop, ch.UserID)
	case linkLeave:
		return put, drop
	}
	return append(put, relinked(ch, now)), drop
}

// PlanUndo plans the inverse of run runID's writes against the contacts as
// they are now, without writing anything. Apply takes the plan; applying it
// is a run of its own (TriggerUndo, Run.UndoneRun), with its own change
// log, so an undo can be undone too.
//
// Only the writes the run made for certain (OutcomeWritten, and the links
// it made, OutcomeLinked) are undone:
//   - a deactivation becomes a reactivation, a reactivation a deactivation;
//   - a field update restores the value before, where the contact still
//     holds the value the run wrote; a field changed since is left as it
//     is, with a warning naming the change and who made it (a later run,
//     or someone in Autotask);
//   - a create becomes a deactivation of the created contact (contacts are
//     never deleted);
//   - links return to what they were: a link the run made is dropped
//     (ChangeUnlink when nothing else changes, keeping the link in
//     Change.Unlinked); a link the run dropped or replaced (an admin's
//     resolution that moved a user to another contact or took a contact
//     over, R-CONF-6; an undo's drop) is made again as it was, unless its
//     user or contact is linked otherwise by now (a warning says so); a
//     deactivation or reactivation of a linked user's contact sets its
//     link's state back.
//
// A change already undone (the contact no longer holds what the run wrote)
// is skipped with a warning. The deactivations pass the guard as any run's
// do (R-DEACT-4): past its limit they are held, and the undo run ends held;
// raise guard.min / guard.percent and undo again to apply them (Approve
// does not apply an undo's held deactivations). Each change's Rule is
// "undo:" and the rule of the change it undoes.
//
// The next run still syncs the directory as it is: a change whose cause is
// still in the directory (a user still out of scope, still matched) is made
// again by it. Fix the directory first.
//
// Refused: a run that is not kept (the history keeps the newest KeepRuns
// per organization) or is another organization's (ErrNotFound); a run
// still in progress, or while any run of the organization is
// (ErrRunInProgress); a disabled organization (ErrOrgDisabled).
func (s *Syncer) PlanUndo(ctx context.Context, org Org, runID int64) (*Plan, error) {
	if err := validateOrg(org); err != nil {
		return nil, err
	}
	cfg := &org.Config
	if !cfg.Enabled {
		return nil, fmt.Errorf("adsync: undo run %d of %q: %w", runID, cfg.ID, ErrOrgDisabled)
	}
	h := s.opts.History
	target, err := h.Run(ctx, cfg.ID, runID)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("adsync: undo run %d of %q: no such run of this organization in the history, which keeps the newest %d runs of each organization: %w",
			runID, cfg.ID, KeepRuns, err)
	}
	if err != nil {
		return nil, fmt.Errorf("adsync: undo run %d of %q: %w", runID, cfg.ID, err)
	}
	if target.Status == StatusRunning {
		return nil, fmt.Errorf("adsync: undo run %d of %q: the run has not finished: %w", runID, cfg.ID, ErrRunInProgress)
	}
	// No run may be going on while the undo is planned: it would change
	// what the plan sees. The lock is taken and released at once; Apply
	// refuses the plan if a run came in between (ErrStalePlan).
	lk, err := s.lock(ctx, cfg.ID)
	if err != nil {
		return nil, fmt.Errorf("adsync: undo run %d of %q: %w", runID, cfg.ID, err)
	}
	lk.unlock()
	runs, err := s.loadRuns(ctx, cfg.ID)
	if err != nil {
		return nil, err
	}

	p := &Plan{OrgID: cfg.ID, CompanyID: cfg.CompanyID, Planned: s.now(), TLS: TLSUnknown, basis: newestOf(runs),
		selected: cfg.Selected(), trigger: TriggerUndo, undoOf: runID}
	if len(runs) > 0 {
		p.TLS = runs[0].TLS // the directory is not read: its status stands
	}
	if err := s.opts.Store.Check(ctx, cfg.CompanyID); err != nil {
		return nil, fmt.Errorf("adsync: check Autotask company %d for %q: %w", cfg.CompanyID, cfg.ID, err)
	}
	var r reading
	contacts, err := s.readContacts(ctx, cfg, NewFieldSet(AllFields()...), &r, nil)
	if err != nil {
		return nil, err
	}
	p.maxContactID = r.maxContactID
	links, err := h.Links(ctx, cfg.ID)
	if err != nil {
		return nil, fmt.Errorf("adsync: load the links of %q: %w", cfg.ID, err)
	}
	u := undoer{s: s, ctx: ctx, p: p, run: runID, links: make(map[string]*Link, len(links))}
	u.contacts = make(map[int64]*Contact, len(contacts))
	for _, c := range contacts {
		u.contacts[c.ID] = c
	}
	for i := range links {
		l := &links[i]
		u.links[l.UserID] = l
		if c := u.contacts[l.ContactID]; c != nil && c.Active && l.Active && !l.Pending {
			u.active++ // counted before the undo's deactivations (R-DEACT-4)
		}
	}
	u.linkedTo = make(map[int64]string, len(links))
	for _, l := range u.links {
		if !l.Pending {
			u.linkedTo[l.ContactID] = l.UserID
		}
	}
	u.wasLinked = maps.Clone(u.linkedTo)
	u.dropAt, u.kept = map[string]int{}, map[string]int64{}
	for rec, err := range s.AllChanges(ctx, cfg.ID, ChangeFilter{RunID: runID, Limit: MaxChangePage}) {
		if err != nil {
			return nil, fmt.Errorf("adsync: undo run %d of %q: %w", runID, cfg.ID, err)
		}
		if err := u.undo(&rec); err != nil {
			return nil, err
		}
	}
	// Links the run dropped come back once the links it made are gone.
	restores := u.restore()
	u.guard(cfg.Guard)
	u.keepRestores(restores)
	if len(p.Changes)+len(p.Held)+len(p.dropLinks) > 0 {
		p.warn(Warning{Rule: "undo", Message: fmt.Sprintf(
			"the next run syncs the directory as it is: a change of run %d whose cause is still in the directory is made again", runID)})
	}
	p.finishWarnings()
	return p, nil
}

// undoer plans the inverse of one run's changes.
type undoer struct {
	s         *Syncer
	ctx       context.Context
	p         *Plan
	run       int64
	links     map[string]*Link   // by user: the links as the undo leaves them
	linkedTo  map[int64]string   // by contact: the user linked to it, as the undo leaves it
	wasLinked map[int64]string   // by contact: the user linked to it now
	contacts  map[int64]*Contact // the company's contacts now
	active    int                // active links, for the guard
	dropAt    map[string]int     // by user: the index in p.Changes of the change that drops its link
	kept      map[string]int64   // by user: the contact of its change whose drop a restore replaced
	unlinked  []unlinked         // links the run dropped, to make again
}

// unlinked is a link a change of the run being undone dropped.
type unlinked struct {
	rec  *ChangeRecord
	link Link
}

func (u *undoer) warn(rec *ChangeRecord, format string, args ...any) {
	u.p.warn(Warning{Rule: "undo", UserID: rec.UserID, Message: fmt.Sprintf("run %d's %s of %s (change %d): ", u.run, rec.Kind, contactName(rec), rec.Seq) +
		fmt.Sprintf(format, args...)})
}

func contactName(rec *ChangeRecord) string {
	if rec.Contact != "" {
		return rec.Contact
	}
	return "contact " + strconv.FormatInt(rec.ContactID, 10)
}

// undo plans the inverse of one change.
func (u *undoer) undo(rec *ChangeRecord) error {
	// The links the change dropped are gone whatever became of its write:
	// a take-over drops the other user's link before the write is sent.
	for _, l := range rec.Unlinked {
		u.unlinked = append(u.unlinked, unlinked{rec: rec, link: l})
	}
	switch rec.Outcome {
	case OutcomeWritten, OutcomeLinked, OutcomeUnlinked:
	case OutcomeUnknown:
		u.warn(rec, "its outcome is unknown: not undone; check the contact in Autotask")
		return nil
	default:
		return nil // nothing was written
	}
	c := u.contacts[rec.ContactID]
	if c == nil {
		u.warn(rec, "the contact is no longer in company %d: nothing to undo", u.p.CompanyID)
		return nil
	}
	ch := Change{Kind: ChangeUpdate, Rule: "undo:" + rec.Rule, UserID: rec.UserID, User: rec.User, ContactID: c.ID, Contact: c.Label()}
	l := u.links[rec.UserID]
	// Did the run make the user's link? Creates and links did; so did a
	// reactivation that came with a match or a resolution.
	madeLink := rec.Kind == ChangeCreate || rec.Kind == ChangeLink ||
		(rec.Kind == ChangeReactivate && (rec.Resolution || strings.HasPrefix(rec.Rule, "R-MATCH-")))
	switch {
	case l == nil || l.Pending || l.ContactID != c.ID:
		ch.linkOp = linkLeave // the user's link is elsewhere now
		if madeLink {
			u.warn(rec, "the user is no longer linked to this contact: the link is left as it is")
		}
	case madeLink:
		ch.linkOp, ch.link = linkDrop, ptr(*l)
		ch.Unlinked = []Link{*l}
	case !l.Active && rec.Active == nil:
		ch.linkOp = linkLeave // fields only: the link's state stays
	default:
		ch.link = ptr(*l)
	}

	// Fields: back to the value before, where the contact still holds the
	// run's value. A create's fields stay: the contact is deactivated.
	if rec.Kind != ChangeCreate {
		for _, f := range rec.Fields {
			now := c.Values[f.Field]
			if now != f.After {
				if now != f.Before {
					u.warn(rec, "%s is %q now, not the %q the run wrote (changed since %s): left as it is",
						f.Field, now, f.After, u.changedBy(c.ID, f.Field, now))
				}
				continue
			}
			ch.set = ch.set.With(f.Field)
			ch.Fields = append(ch.Fields, FieldChange{Field: f.Field, Before: now, After: f.Before})
		}
	}

	// isActive: back to what it was.
	var want *bool
	switch {
	case rec.Kind == ChangeCreate:
		want = ptr(false) // contacts are never deleted
	case rec.Active != nil:
		want = ptr(!*rec.Active)
	}
	if want != nil {
		if c.Active == *want {
			u.warn(rec, "the contact is %s already: left as it is", activeWord(c.Active))
		} else {
			ch.Active = want
			if *want {
				ch.Kind = ChangeReactivate
			} else {
				ch.Kind = ChangeDeactivate
			}
		}
	}
	if ch.linkOp == linkDrop {
		delete(u.links, rec.UserID)
		if u.linkedTo[c.ID] == rec.UserID {
			delete(u.linkedTo, c.ID)
		}
		u.dropAt[rec.UserID] = len(u.p.Changes)
	}
	switch {
	case ch.Active == nil && ch.set == 0:
		if ch.linkOp == linkDrop {
			ch.Kind = ChangeUnlink
			u.p.Changes = append(u.p.Changes, ch)
			u.p.warn(Warning{Rule: "undo", UserID: rec.UserID, Message: fmt.Sprintf(
				"the link of user %s to %s that run %d made is dropped: the next run matches the user again", rec.UserID, c.Label(), u.run)})
		}
		return nil
	case ch.Kind == ChangeDeactivate:
		u.p.Counts.Deactivated++
	case ch.Kind == ChangeReactivate:
		u.p.Counts.Reactivated++
	default:
		u.p.Counts.Updated++
	}
	u.p.Changes = append(u.p.Changes, ch)
	return nil
}

// restore plans the return of the links the run dropped, once the links
// it made are dropped: a link comes back unless its contact is gone, its
// user is linked to another contact, or its contact to another user by
// now. It returns, by the user of each link it makes again that another
// user's link held until this undo drops it, that other user.
func (u *undoer) restore() map[string]string {
	needs := map[string]string{}
	for _, d := range u.unlinked {
		l, rec := d.link, d.rec
		c := u.contacts[l.ContactID]
		cur := u.links[l.UserID]
		other, taken := u.linkedTo[l.ContactID]
		switch {
		case cur != nil && !cur.Pending && cur.ContactID == l.ContactID:
			continue // linked to it already: the run's change did not go through
		case l.Pending || l.ContactID == 0:
			continue // a create journaled and never confirmed: nothing to link
		case c == nil:
			u.warn(rec, "the link of user %s to contact %d that it dropped is not made again: the contact is no longer in company %d",
				l.UserID, l.ContactID, u.p.CompanyID)
			continue
		case cur != nil && cur.Pending:
			u.warn(rec, "the link of user %s to contact %d that it dropped is not made again: a contact created for the user since awaits confirmation",
				l.UserID, l.ContactID)
			continue
		case cur != nil:
			u.warn(rec, "the link of user %s to contact %d that it dropped is not made again: the user is linked to contact %d now",
				l.UserID, l.ContactID, cur.ContactID)
			continue
		case taken && other != l.UserID:
			u.warn(rec, "the link of user %s to contact %d that it dropped is not made again: the contact is linked to user %s now",
				l.UserID, l.ContactID, other)
			continue
		}
		user := "user " + l.UserID
		if l.UserID == rec.UserID {
			user = rec.User
		}
		l.Written = maps.Clone(l.Written)
		ch := Change{Kind: ChangeLink, Rule: "undo:" + rec.Rule, UserID: l.UserID, User: user, ContactID: c.ID, Contact: c.Label(),
			linkOp: linkRestore, link: &l}
		if i, ok := u.dropAt[l.UserID]; ok {
			// The user's link this undo drops is replaced by this one: a
			// drop saved after the put would remove it.
			u.p.Changes[i].linkOp = linkLeave
			u.kept[l.UserID] = u.p.Changes[i].ContactID
		}
		if was, ok := u.wasLinked[l.ContactID]; ok && was != l.UserID {
			needs[l.UserID] = was
		}
		u.links[l.UserID] = &l
		u.linkedTo[l.ContactID] = l.UserID
		u.p.Changes = append(u.p.Changes, ch)
		u.p.Counts.Linked++
		u.p.Counts.LinkedAsIs++
		u.p.warn(Warning{Rule: "undo", UserID: l.UserID, Message: fmt.Sprintf(
			"the link of user %s to %s that run %d dropped is made again", l.UserID, c.Label(), u.run)})
	}
	return needs
}

// keepRestores takes back, after the guard, the links restore planned that
// wait for a drop the guard held: a contact is linked to one user at most
// (R-LINK-5).
func (u *undoer) keepRestores(needs map[string]string) {
	held := map[string]bool{}
	for _, ch := range u.p.Held {
		if ch.linkOp == linkDrop {
			held[ch.UserID] = true
		}
	}
	if len(held) == 0 {
		return
	}
	redrop := map[string]int64{} // by user: the contact of the change to drop its link again
	u.p.Changes = slices.DeleteFunc(u.p.Changes, func(ch Change) bool {
		if ch.linkOp != linkRestore || !held[needs[ch.UserID]] {
			return false
		}
		if id, ok := u.kept[ch.UserID]; ok {
			redrop[ch.UserID] = id
		}
		u.p.Counts.Linked--
		u.p.Counts.LinkedAsIs--
		u.p.warn(Warning{Rule: "undo", UserID: ch.UserID, Message: fmt.Sprintf(
			"the link of user %s to %s that run %d dropped is not made again yet: user %s stays linked to it while its deactivation is held; undo again once it is applied",
			ch.UserID, ch.Contact, u.run, needs[ch.UserID])})
		return true
	})
	// A withdrawn restore no longer replaces its user's link: the change
	// that was to leave that link to it drops it again, as it would have
	// without the restore (its record says the link was dropped).
	// One pass over the changes, however many restores were withdrawn.
	if len(redrop) == 0 {
		return
	}
	for _, list := range [][]Change{u.p.Changes, u.p.Held} {
		for i := range list {
			ch := &list[i]
			if id, ok := redrop[ch.UserID]; ok && ch.ContactID == id && ch.linkOp == linkLeave && len(ch.Unlinked) > 0 {
				ch.linkOp = linkDrop
			}
		}
	}
}

func activeWord(active bool) string {
	if active {
		return "active"
	}
	return "inactive"
}

// changedBy names who changed a contact's field to its value now since the
// run being undone: a later kept run, or someone in Autotask.
func (u *undoer) changedBy(contactID int64, f Field, now string) string {
	who := "in Autotask, not by adsync"
	later := ChangeFilter{ContactID: contactID, AfterRun: u.run, AfterSeq: math.MaxInt32, Limit: MaxChangePage}
	for rec, err := range u.s.AllChanges(u.ctx, u.p.OrgID, later) {
		if err != nil {
			return "(the later runs' logs could not be read: " + err.Error() + ")"
		}
		if !rec.Outcome.Sent() {
			continue
		}
		for _, fc := range rec.Fields {
			if fc.Field == f && fc.After == now {
				who = fmt.Sprintf("by run %d (%s, %s)", rec.RunID, rec.Kind, rec.Rule)
			}
		}
	}
	return who
}

// guard holds the undo's deactivations past the guard's limit (R-DEACT-4),
// as a run's are.
func (u *undoer) guard(g Guard) {
	p := u.p
	var deact, rest []Change
	for _, ch := range p.Changes {
		if ch.Kind == ChangeDeactivate {
			deact = append(deact, ch)
		} else {
			rest = append(rest, ch)
		}
	}
	if g.Off || len(deact) <= g.Limit(u.active) {
		return
	}
	for i := range deact {
		deact[i].Rule = "R-DEACT-4"
	}
	p.Changes, p.Held = rest, deact
	p.Counts.Deactivated -= len(deact)
	p.Counts.Held = len(deact)
	slices.SortFunc(p.Held, func(a, b Change) int { return cmp.Compare(a.ContactID, b.ContactID) })
	p.Warnings = append(p.Warnings, Warning{Rule: "R-DEACT-4", Message: "held " + strconv.Itoa(len(deact)) +
		" deactivations of the undo: more than the guard allows (" + strconv.Itoa(g.Limit(u.active)) + " of " + strconv.Itoa(u.active) +
		" active links); raise guard.min / guard.percent and undo again (changes already undone are skipped)"})
}
