package adsync

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// planParams are what planning takes besides the reading.
type planParams struct {
	matcher Matcher
	appr    *approval
	grace   time.Duration // Options.JournalGrace
	now     time.Time     // the plan's time
	log     *slog.Logger
	window  guardWindow // the guard's window (R-DEACT-6)
}

// planFrom computes the plan of one run from what the run read (docs/design.md "One
// run", step 6). It is a pure function of its inputs but for the matcher,
// which is given ctx: no I/O, no Syncer.
func planFrom(ctx context.Context, cfg *OrgConfig, r *reading, pp planParams) (*Plan, error) {
	p := &Plan{OrgID: cfg.ID, CompanyID: cfg.CompanyID, Planned: pp.now, TLS: r.tls,
		FullRead: r.full, Cursor: r.cursor, selected: cfg.Selected(), billing: cfg.BillingProductID,
		disabled: r.disabled, maxContactID: r.maxContactID, contactsRead: len(r.contacts), readAt: r.readAt, gone: r.gone,
		certExpiry: r.certExpiry, reads: r.reads}
	p.Counts.Read = len(r.users)
	p.warn(r.dirWarns...)
	for rule, n := range r.dirUnlisted {
		if p.unlisted == nil {
			p.unlisted = map[string]int{}
		}
		p.unlisted[rule] += n
	}
	p.warn(r.warnings...)
	pl := planner{cfg: cfg, p: p, rules: r.rules, appr: pp.appr, users: r.users, contacts: r.contacts, grace: pp.grace, written: r.written,
		matcher: pp.matcher, canBill: r.canBill, log: pp.log, window: pp.window}
	if len(r.exemptions) > 0 {
		pl.exempt = make(map[int64]Exemption, len(r.exemptions))
		for _, e := range r.exemptions {
			pl.exempt[e.ContactID] = e
		}
	}
	// Links are changed as they are planned, on a copy made at the first
	// change (mutable): the reading stays as read, and a run that changes
	// no link copies none of its 400,000.
	if err := pl.run(ctx, r.links, r.conflicts, r.resolutions); err != nil {
		return p, err
	}
	p.finishWarnings()
	return p, nil
}

// planner computes one plan. It does no I/O.
type planner struct {
	cfg      *OrgConfig
	p        *Plan
	rules    FieldRules
	appr     *approval
	grace    time.Duration // Options.JournalGrace
	matcher  Matcher
	canBill  bool
	log      *slog.Logger
	window   guardWindow
	exempt   map[int64]Exemption // by contact id (R-DEACT-9)
	users    []*User
	contacts []*Contact // ascending ids
	ids      []int64    // the contacts' ids, for cache-friendly search
	active   []bool     // the contacts' isActive, likewise

	links       []Link       // the reading's until the first change (mutable)
	written     *writtenVals // the links' written values, when the reading keeps them apart (link)
	owned       bool         // links is the planner's own copy
	linkContact []int32      // by link: index of its contact in contacts, -1 if gone
	// linkState holds, by link, the flags below: a byte per link stays in
	// cache where the 400,000 links themselves do not.
	linkState  []uint8
	linkedUser []string // by contact index: the user linked to it, confirmed links only
	prevConf   map[string]Conflict
	linkIndex  map[string]int // by user id, built when first needed (linkOf)
	// unlinked are the links a resolution about to be planned (planLink)
	// drops: the change records them (Change.Unlinked, R-CONF-6).
	unlinked []Link
	// sharedContact: two links name one contact, as an interrupted
	// directory move leaves them (R-LINK-6).
	sharedContact bool
}

// Flags of planner.linkState.
const (
	linkPending uint8 = 1 << iota // a create journal entry not reconciled
	linkSeen                      // its user was read in scope
	linkGone                      // dropped (R-LINK-4, R-RUN-7)
	linkInScope                   // its user is in this read (R-CONF-6 take-over)
)

// mutable returns link i for a change, copying the reading's links at the
// first one.
func (pl *planner) mutable(i int) *Link {
	if !pl.owned {
		pl.links = slices.Clone(pl.links)
		pl.owned = true
	}
	return &pl.links[i]
}

// link returns link i whole, with its written values, for a link to save
// or to keep on a change: the reading keeps the values apart (writtenVals).
func (pl *planner) link(i int) Link {
	l := pl.links[i]
	if l.Written == nil && pl.written != nil {
		l.Written = pl.written.of(i)
	}
	return l
}

// writtenValues returns the values written to link i, blank where none
// was.
func (pl *planner) writtenValues(i int) Values {
	if l := &pl.links[i]; l.Written != nil || pl.written == nil {
		var v Values
		for f, s := range l.Written {
			if f.Valid() {
				v[f] = s
			}
		}
		return v
	}
	return pl.written.values(i)
}

// unknownContact says why a linked user is skipped whose contact the read
// did not return and the store could not yet show gone (R-DEACT-5).
func unknownContact(id int64) string {
	return fmt.Sprintf("linked contact %d was not in the contacts read and could not be checked yet: the user waits for the next run (it is never created again for that)", id)
}

// dropLink forgets link i for the rest of the plan and drops it on apply.
func (pl *planner) dropLink(i int) {
	if pl.linkState[i]&linkGone == 0 {
		pl.linkState[i] |= linkGone
		if ci := pl.linkContact[i]; ci >= 0 && pl.linkedUser[ci] == pl.links[i].UserID {
			pl.linkedUser[ci] = ""
		}
		pl.p.dropLinks = append(pl.p.dropLinks, pl.links[i].UserID)
	}
}

// dropGone drops link i, whose contact is no longer in the company (deleted
// or moved to another company), and says so: the user's next contact may be
// a new one (R-LINK-4).
func (pl *planner) dropGone(i int) {
	l := &pl.links[i]
	pl.p.warn(Warning{Rule: "R-LINK-4", UserID: l.UserID, Message: fmt.Sprintf(
		"linked contact %d is no longer in company %d (deleted or moved to another company): the link is dropped and the user is matched again",
		l.ContactID, pl.cfg.CompanyID)})
	pl.dropLink(i)
}

// relink follows an admin's resolution that maps a linked user to another
// contact than its link's (R-CONF-6). The old contact is left as it is; the
// new link replaces the old one when it is saved. It reports false, with a
// warning, when the resolution cannot be followed: the user stays linked.
func (pl *planner) relink(u *User, i int, r Resolution) bool {
	c := pl.contact(r.ContactID)
	other, taken := pl.linkedTo(r.ContactID)
	var why string
	switch {
	case c == nil:
		why = fmt.Sprintf("is not in company %d any more", pl.cfg.CompanyID)
	case taken && other != u.ID && !pl.takeOver(u, r.ContactID, other):
		why = "is linked to user " + other + ", which is in scope"
	default:
		pl.linkState[i] |= linkGone // replaced, not deactivated
		if ci := pl.linkContact[i]; pl.linkedUser[ci] == u.ID {
			pl.linkedUser[ci] = ""
		}
		pl.unlinked = append(pl.unlinked, pl.link(i))
		pl.planLink(u, c, "R-CONF-6", !c.Active, true)
		return true
	}
	pl.p.warn(Warning{Rule: "R-CONF-6", UserID: u.ID, Message: fmt.Sprintf(
		"the resolution maps this user to contact %d, which %s: the user stays linked to contact %d; resolve again",
		r.ContactID, why, pl.links[i].ContactID)})
	return false
}

// contactIndex finds a contact of the company by id, -1 if there is none:
// contacts are in ascending id order, so a binary search spares a
// 400,000-entry map.
func (pl *planner) contactIndex(id int64) int32 {
	i, ok := slices.BinarySearch(pl.ids, id)
	if !ok {
		return -1
	}
	return int32(i)
}

// linkedTo returns the user a contact of the company is linked to.
func (pl *planner) linkedTo(contactID int64) (string, bool) {
	i, ok := slices.BinarySearch(pl.ids, contactID)
	if !ok || pl.linkedUser[i] == "" {
		return "", false
	}
	return pl.linkedUser[i], true
}

func (pl *planner) setLinked(contactID int64, userID string) {
	if i := pl.contactIndex(contactID); i >= 0 {
		pl.linkedUser[i] = userID
	}
}

// contact finds a contact of the company by id, nil if there is none.
func (pl *planner) contact(id int64) *Contact {
	if i := pl.contactIndex(id); i >= 0 {
		return pl.contacts[i]
	}
	return nil
}

func (pl *planner) run(ctx context.Context, links []Link, prevConflicts []Conflict, resolutions []Resolution) error {
	p, cfg := pl.p, pl.cfg
	pl.ids = make([]int64, len(pl.contacts))
	pl.active = make([]bool, len(pl.contacts))
	for i, c := range pl.contacts {
		pl.ids[i], pl.active[i] = c.ID, c.Active
	}
	pl.links = links
	pl.linkContact = make([]int32, len(links))
	pl.linkState = make([]uint8, len(links))
	pl.linkedUser = make([]string, len(pl.contacts))
	var pending []int
	for i := range links {
		l := &links[i]
		pl.linkContact[i] = -1
		if l.Pending {
			pl.linkState[i] = linkPending
			pending = append(pending, i)
		} else if ci := pl.contactIndex(l.ContactID); ci >= 0 {
			pl.linkContact[i] = ci
			pl.sharedContact = pl.sharedContact || pl.linkedUser[ci] != ""
			pl.linkedUser[ci] = l.UserID
		}
	}
	userLink, dups := joinUsers(pl.users, links)
	for _, d := range dups {
		u := pl.users[d]
		p.warn(Warning{Rule: "R-LINK-1", UserID: u.ID, Message: "the directory returned this user twice: the second copy is ignored"})
		userLink[d] = -2
	}
	pl.carryLinks(userLink) // R-LINK-6
	for _, i := range userLink {
		if i >= 0 {
			pl.linkState[i] |= linkInScope
		}
	}
	pl.prevConf = make(map[string]Conflict, len(prevConflicts))
	for _, c := range prevConflicts {
		pl.prevConf[c.UserID+"\x00"+string(c.Kind)] = c
	}
	res := make(map[string]Resolution, len(resolutions))
	for _, r := range resolutions {
		res[r.UserID] = r
	}

	pl.reconcile(pending)

	// Linked users are updated (R-LINK-2); the others go to resolutions or
	// the matcher.
	var unlinked, linked []*User
	for k, u := range pl.users {
		if userLink[k] == -2 {
			continue // a duplicate
		}
		r, hasRes := res[u.ID]
		if hasRes && r.Action == ResolveIgnore {
			p.Skips = append(p.Skips, Skip{UserID: u.ID, User: u.Label(), Rule: "R-CONF-6", Reason: "ignored by an admin's resolution"})
			continue
		}
		if i := userLink[k]; i >= 0 && pl.linkState[i]&(linkGone|linkPending) == linkPending {
			// A create whose outcome is not known yet: never sent again
			// (R-RUN-7).
			p.Skips = append(p.Skips, Skip{UserID: u.ID, User: u.Label(), Rule: "R-RUN-7", Reason: fmt.Sprintf(
				"a contact create journaled at %s has no known outcome yet (its answer was lost): the user waits until a read shows the contact, or shows it was never made",
				pl.links[i].LinkedAt.UTC().Format(time.RFC3339))})
			continue
		}
		if i := userLink[k]; i >= 0 && pl.linkState[i]&(linkGone|linkPending) == 0 {
			pl.linkState[i] |= linkSeen
			l := &pl.links[i]
			if pl.linkContact[i] < 0 && !p.gone[l.ContactID] {
				p.Skips = append(p.Skips, Skip{UserID: u.ID, User: u.Label(), Rule: "R-DEACT-5", Reason: unknownContact(l.ContactID)})
				continue
			}
			if pl.linkContact[i] < 0 {
				// The linked contact is gone: drop the link and match again
				// (R-LINK-4).
				pl.dropGone(int(i))
			} else if hasRes && r.Action == ResolveLink && r.ContactID != l.ContactID && pl.relink(u, int(i), r) {
				linked = append(linked, u)
				continue
			} else {
				c := pl.contacts[pl.linkContact[i]]
				linked = append(linked, u)
				pl.graceBack(int(i))
				pl.planLinked(u, int(i), c)
				continue
			}
		}
		if hasRes {
			pl.planResolution(u, r)
			// About to be linked: its email still counts for the others'
			// duplicate detection (R-CONF-1).
			linked = append(linked, u)
			continue
		}
		unlinked = append(unlinked, u)
	}

	if err := pl.match(ctx, unlinked, linked); err != nil {
		return err
	}
	// Only a full read sees who left (R-DEACT-3); an incremental one still
	// sees accounts disabled since the last read (R-SCOPE-8).
	pl.planDeactivations(res, !p.FullRead)
	p.Counts.Conflicts = len(p.Conflicts)
	p.Counts.Skipped = len(p.Skips)
	if cfg.BillingProductID != 0 && p.Counts.Created > 0 {
		if !pl.canBill {
			p.warn(Warning{Rule: "R-FIELD-7", Message: "the contact store cannot assign billing products: new contacts get none"})
		}
	}
	return nil
}

// reconcile settles the create journal (R-RUN-7): a pending link whose
// contact was created (its id is above the journal's mark and its values
// are the journaled ones) becomes a link; one whose contact was never
// created is dropped, and the user is planned afresh.
func (pl *planner) reconcile(pending []int) {
	for _, i := range pending {
		l := pl.mutable(i)
		want := pl.writtenValues(i)
		found := -1
		if l.ContactID != 0 {
			// Created, and counted, by a run whose next step failed (a
			// billing product): the id is known.
			found = int(pl.contactIndex(l.ContactID))
			if found >= 0 && pl.linkedUser[found] != "" {
				found = -1
			}
			if found < 0 {
				pl.dropLink(i) // gone since: the user is planned afresh
				continue
			}
		}
		// Only contacts above the journal's mark: ascending ids.
		from, _ := slices.BinarySearch(pl.ids, l.After+1)
		for ci := from; found < 0 && ci < len(pl.contacts); ci++ {
			c := pl.contacts[ci]
			if pl.linkedUser[ci] != "" {
				continue
			}
			if !strings.EqualFold(strings.TrimSpace(c.Values[Email]), strings.TrimSpace(want[Email])) ||
				strings.TrimSpace(c.Values[FirstName]) != strings.TrimSpace(want[FirstName]) ||
				strings.TrimSpace(c.Values[LastName]) != strings.TrimSpace(want[LastName]) {
				continue
			}
			found = ci
			break
		}
		if found < 0 {
			// Not found by a read that started well after the create's
			// deadline: it never happened. A read sooner proves nothing:
			// the create may still be committed, and the user waits.
			if !pl.p.readAt.Before(l.LinkedAt.Add(pl.grace)) {
				pl.dropLink(i)
			}
			continue
		}
		c := pl.contacts[found]
		pl.p.confirmNew = append(pl.p.confirmNew, l.ContactID == 0)
		l.Pending, l.ContactID, l.After, l.Created, l.Active = false, c.ID, 0, true, true
		pl.linkState[i] &^= linkPending
		l.SyncedAt = pl.p.Planned
		pl.linkContact[i] = int32(found)
		pl.linkedUser[found] = l.UserID
		pl.p.confirmLinks = append(pl.p.confirmLinks, pl.link(i))
		pl.log.Info("create journal reconciled", "org", pl.cfg.ID, "user", l.UserID, "contact", c.ID)
	}
}

// planLinked plans the update of a linked user's contact: reactivation
// when it is inactive (R-LINK-3), the differing fields (R-FIELD-*).
func (pl *planner) planLinked(u *User, i int, c *Contact) {
	upd, warns := pl.rules.Update(u, c)
	pl.p.warn(warns...)
	if upd.Fields == 0 && c.Active {
		pl.p.Counts.Unchanged++ // most users: their written values are not needed
		return
	}
	l := pl.link(i)
	pl.threeWay(u, &l, c, &upd)
	var ch Change
	switch {
	case !c.Active:
		ch.Kind, ch.Rule = ChangeReactivate, "R-LINK-3"
		ch.Active = ptr(true)
		pl.p.Counts.Reactivated++
	case upd.Fields != 0:
		ch.Kind, ch.Rule = ChangeUpdate, "R-FIELD-3"
		pl.p.Counts.Updated++
	default:
		pl.p.Counts.Unchanged++
		return
	}
	ch.UserID, ch.User, ch.ContactID, ch.Contact, ch.link = u.ID, u.Label(), c.ID, c.Label(), &l
	ch.setFields(c, upd)
	pl.p.Changes = append(pl.p.Changes, ch)
}

func ptr[T any](v T) *T { return &v }

// fieldChanges returns an empty slice for the changes of the fields of s,
// nil for none. It is sized at once: the fields of 400,000 creates are
// most of a large plan's memory, and growing them by appends would waste a
// third of it.
func fieldChanges(s FieldSet) []FieldChange {
	if n := s.Len(); n > 0 {
		return make([]FieldChange, 0, n)
	}
	return nil
}

func (ch *Change) setFields(c *Contact, upd ContactUpdate) {
	ch.set = upd.Fields
	ch.Fields = fieldChanges(upd.Fields)
	for _, f := range upd.Fields.Fields() {
		ch.Fields = append(ch.Fields, FieldChange{Field: f, Before: c.Values[f], After: upd.Values[f]})
	}
}

// planResolution follows an admin's resolution for an unlinked user
// (R-CONF-6).
func (pl *planner) planResolution(u *User, r Resolution) {
	switch r.Action {
	case ResolveCreate:
		pl.planCreate(u, "R-CONF-6", true)
	case ResolveLink:
		c := pl.contact(r.ContactID)
		if other, taken := pl.linkedTo(r.ContactID); taken && other != u.ID && (c == nil || !pl.takeOver(u, r.ContactID, other)) {
			pl.p.Skips = append(pl.p.Skips, Skip{UserID: u.ID, User: u.Label(), Rule: "R-CONF-6",
				Reason: fmt.Sprintf("the resolution maps this user to contact %d, which is now linked to user %s, in scope: resolve again", r.ContactID, other)})
			return
		}
		if c == nil {
			pl.p.Skips = append(pl.p.Skips, Skip{UserID: u.ID, User: u.Label(), Rule: "R-CONF-6",
				Reason: fmt.Sprintf("the resolution maps this user to contact %d, which is not in company %d any more: resolve again", r.ContactID, pl.cfg.CompanyID)})
			return
		}
		pl.planLink(u, c, "R-CONF-6", !c.Active, true)
	}
}

// planLink plans a new link to an existing contact, with its field updates
// and, for an inactive contact, its reactivation (reactivate is what the
// matcher said; the contact's state decides).
func (pl *planner) planLink(u *User, c *Contact, rule string, reactivate, resolution bool) {
	upd, warns := pl.rules.Update(u, c)
	pl.p.warn(warns...)
	ch := Change{Kind: ChangeLink, Rule: rule, UserID: u.ID, User: u.Label(), ContactID: c.ID, Contact: c.Label(),
		Resolution: resolution, Unlinked: pl.unlinked}
	pl.unlinked = nil
	ch.setFields(c, upd)
	switch {
	case !c.Active:
		// A reactivation, however it was found (R-MATCH-2, R-MATCH-4); the
		// contact's state decides, not the matcher's reactivate flag, so
		// an active contact is never "reactivated".
		ch.Kind, ch.Active = ChangeReactivate, ptr(true)
		pl.p.Counts.Reactivated++
	case !ch.Writes():
		pl.p.Counts.Linked++
		pl.p.Counts.LinkedAsIs++
	default:
		pl.p.Counts.Linked++
	}
	pl.setLinked(c.ID, u.ID)
	pl.p.Changes = append(pl.p.Changes, ch)
}

func (pl *planner) planCreate(u *User, rule string, resolution bool) {
	vals, warns, err := pl.rules.Create(u)
	pl.p.warn(warns...)
	if err != nil {
		pl.p.Skips = append(pl.p.Skips, Skip{UserID: u.ID, User: u.Label(), Rule: "R-FIELD-5", Reason: err.Error()})
		return
	}
	ch := Change{Kind: ChangeCreate, Rule: rule, UserID: u.ID, User: u.Label(), Resolution: resolution}
	for f := Field(0); f < NumFields; f++ {
		if vals[f] != "" {
			ch.set = ch.set.With(f)
		}
	}
	ch.Fields = fieldChanges(ch.set)
	for f := Field(0); f < NumFields; f++ {
		if vals[f] != "" {
			ch.Fields = append(ch.Fields, FieldChange{Field: f, After: vals[f]})
		}
	}
	pl.p.Counts.Created++
	pl.p.Changes = append(pl.p.Changes, ch)
}

// match runs the matcher on the unlinked users and checks its decisions: a
// contact can be linked to at most one user (R-LINK-5).
func (pl *planner) match(ctx context.Context, unlinked, linked []*User) error {
	if len(unlinked) == 0 {
		return nil
	}
	in := MatchInput{Users: unlinked, Linked: linked, Contacts: pl.contacts, EmailFromUPN: pl.cfg.EmailFromUPN,
		LinkedTo: pl.linkedTo}
	decisions, err := pl.matcher.Match(ctx, in)
	if err != nil {
		return fmt.Errorf("adsync: match the users of %q: %w", pl.cfg.ID, err)
	}
	// Room for a change per decision at once: growing the changes of
	// 400,000 creates append by append would hold the old copy and the new
	// at once, time after time.
	pl.p.Changes = slices.Grow(pl.p.Changes, len(decisions))
	byUser := make(map[string]*User, len(unlinked))
	for _, u := range unlinked {
		byUser[u.ID] = u
	}
	decided := make(map[string]bool, len(decisions))
	for _, d := range decisions {
		u := byUser[d.UserID]
		if u == nil || decided[d.UserID] {
			return fmt.Errorf("adsync: matcher for %q decided for user %q, which it was not asked about or twice", pl.cfg.ID, d.UserID)
		}
		decided[d.UserID] = true
		switch d.Action {
		case ActionCreate:
			pl.planCreate(u, ruleOr(d.Rule, "R-MATCH-5"), false)
		case ActionLink, ActionLinkReactivate:
			c := pl.contact(d.ContactID)
			if c == nil {
				return fmt.Errorf("adsync: matcher for %q linked user %s to contact %d, which is not a contact of company %d",
					pl.cfg.ID, u.Label(), d.ContactID, pl.cfg.CompanyID)
			}
			if other, taken := pl.linkedTo(c.ID); taken {
				pl.conflict(u, Conflict{Kind: ConflictContactLinked, OtherUsers: []string{other}, Candidates: []int64{c.ID},
					Detail: fmt.Sprintf("the only matching contact %s is already linked to user %s", c.Label(), other)})
				continue
			}
			pl.planLink(u, c, ruleOr(d.Rule, "R-MATCH-1"), d.Action == ActionLinkReactivate, false)
		case ActionConflict:
			c := Conflict{Kind: ConflictMultipleContacts}
			if d.Conflict != nil {
				c = *d.Conflict
			}
			pl.conflict(u, c)
		default:
			return fmt.Errorf("adsync: matcher for %q returned action %d for user %s", pl.cfg.ID, d.Action, u.Label())
		}
	}
	if len(decided) != len(unlinked) {
		return fmt.Errorf("adsync: matcher for %q decided for %d of %d users", pl.cfg.ID, len(decided), len(unlinked))
	}
	return nil
}

func ruleOr(r, def string) string {
	if r == "" {
		return def
	}
	return r
}

func (pl *planner) conflict(u *User, c Conflict) {
	c.OrgID, c.UserID = pl.cfg.ID, u.ID
	if c.User == "" {
		c.User = u.Label()
	}
	if !c.Kind.Valid() {
		c.Kind = ConflictMultipleContacts
	}
	pl.suggestTakeOver(u, &c)
	c.FirstSeen, c.LastSeen = pl.p.Planned, pl.p.Planned
	if prev, ok := pl.prevConf[u.ID+"\x00"+string(c.Kind)]; ok {
		c.FirstSeen = prev.FirstSeen
	}
	pl.p.Conflicts = append(pl.p.Conflicts, c)
}

// planDeactivations deactivates the active contacts of linked users who
// left scope (R-DEACT-1, R-DEACT-2), subject to the guard (R-DEACT-4). After
// an incremental read (disabledOnly) it deactivates only the users the read
// delivered disabled: the users it did not deliver may well be in scope.
func (pl *planner) planDeactivations(res map[string]Resolution, disabledOnly bool) {
	p := pl.p
	active := 0
	var deact []Change
	for i := range pl.links {
		l := &pl.links[i]
		st := pl.linkState[i]
		if st&(linkPending|linkGone) != 0 {
			continue // a create journal entry, or a link dropped above
		}
		in := st&linkSeen != 0
		if pl.linkContact[i] < 0 {
			if !in && p.gone[l.ContactID] {
				pl.dropGone(i) // R-LINK-4
			}
			continue
		}
		ci := pl.linkContact[i]
		if pl.active[ci] {
			active++
		}
		if in || !pl.active[ci] || (disabledOnly && !p.disabled[l.UserID]) {
			continue
		}
		c := pl.contacts[ci]
		if r, ok := res[l.UserID]; ok && r.Action == ResolveIgnore {
			continue
		}
		if pl.exempted(l, c) || pl.keepReactivated(l, c) || pl.graceWaits(i, c) {
			continue
		}
		l = &pl.links[i] // graceWaits may have copied the links
		rule := "R-DEACT-1"
		if p.disabled[l.UserID] {
			rule = "R-SCOPE-8"
		}
		deact = append(deact, Change{Kind: ChangeDeactivate, Rule: rule, UserID: l.UserID, User: "user " + l.UserID,
			ContactID: c.ID, Contact: c.Label(), Active: ptr(false), link: ptr(pl.link(i))})
	}
	// Sorted so that plans and held lists are stable.
	slices.SortFunc(deact, func(a, b Change) int { return strings.Compare(a.UserID, b.UserID) })
	g := pl.cfg.Guard
	if pl.appr != nil {
		// Approved deactivations pass; the rest is guarded as usual.
		var rest []Change
		for _, ch := range deact {
			if pl.appr.contacts[ch.ContactID] {
				p.Changes = append(p.Changes, ch)
				p.Counts.Deactivated++
			} else {
				rest = append(rest, ch)
			}
		}
		deact = rest
	}
	hold := !g.Off && len(deact) > 0 &&
		(len(deact) > g.Limit(active) || (p.FullRead && p.Counts.Read == 0 && active > 0))
	if !g.Off && pl.window.window > 0 {
		wh, limit := pl.window.holds(g, len(deact), active)
		p.Window = &GuardWindow{Window: pl.window.window, Deactivated: pl.window.deactivated, ThisRun: len(deact),
			Limit: limit, Held: wh, Partial: pl.window.partial}
		if wh && !hold {
			// Held by the window alone (R-DEACT-6).
			for i := range deact {
				deact[i].Rule = "R-DEACT-6"
			}
			p.Held = deact
			p.Counts.Held = len(deact)
			p.Warnings = append(p.Warnings, Warning{Rule: "R-DEACT-6", Message: "held " + strconv.Itoa(len(deact)) +
				" deactivations: " + p.Window.String() + "; approve the run to apply them, or raise guard.min / guard.percent"})
			return
		}
	}
	if hold {
		for i := range deact {
			deact[i].Rule = "R-DEACT-4"
		}
		p.Held = deact
		p.Counts.Held = len(deact)
		p.Warnings = append(p.Warnings, Warning{Rule: "R-DEACT-4", Message: "held " + strconv.Itoa(len(deact)) +
			" deactivations: more than the guard allows (" + strconv.Itoa(g.Limit(active)) + " of " + strconv.Itoa(active) +
			" active links); approve the run to apply them, or raise guard.min / guard.percent"})
		return
	}
	p.Changes = append(p.Changes, deact...)
	p.Counts.Deactivated += len(deact)
}
