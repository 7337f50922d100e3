package adsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// chunk is the number of records allocated at once while reading: reads
// append into fixed chunks rather than one growing slice, so that 400,000
// users are never copied to grow a slice, and pointers to them stay valid.
const chunk = 4096

// chunked appends records into fixed-size chunks and hands out stable
// pointers.
type chunked[T any] struct {
	cur  []T
	ptrs []*T
}

func (c *chunked[T]) add(v T) *T {
	if len(c.cur) == cap(c.cur) {
		c.cur = make([]T, 0, chunk)
	}
	c.cur = append(c.cur, v)
	p := &c.cur[len(c.cur)-1]
	c.ptrs = append(c.ptrs, p)
	return p
}

// matchFields are read from Autotask whatever the selection: matching needs
// them (R-MATCH-1..7).
var matchFields = NewFieldSet(FirstName, LastName, MiddleInitial, Email)

// plan reads and plans; see Syncer.Plan. It writes nothing. On an error
// after the check, the partial plan carries the TLS status.
func (s *Syncer) plan(ctx context.Context, org Org, appr *approval) (*Plan, error) {
	cfg := &org.Config
	p := &Plan{OrgID: cfg.ID, CompanyID: cfg.CompanyID, Planned: s.now(), TLS: TLSUnknown,
		selected: cfg.Selected(), billing: cfg.BillingProductID}
	h := s.opts.History

	// Check: both ends reachable and authenticated before reading anything.
	st, err := org.Source.Check(ctx)
	if st.TLS != "" {
		p.TLS = st.TLS
	}
	if err != nil {
		return p, fmt.Errorf("adsync: check the directory of %q: %w", cfg.ID, err)
	}
	if err := s.opts.Store.Check(ctx, cfg.CompanyID); err != nil {
		return p, fmt.Errorf("adsync: check Autotask company %d for %q: %w", cfg.CompanyID, cfg.ID, err)
	}

	links, err := h.Links(ctx, cfg.ID)
	if err != nil {
		return p, fmt.Errorf("adsync: load the links of %q: %w", cfg.ID, err)
	}
	resolutions, err := h.Resolutions(ctx, cfg.ID)
	if err != nil {
		return p, fmt.Errorf("adsync: load the resolutions of %q: %w", cfg.ID, err)
	}
	// The two reads are independent and each waits on a server: they run
	// at once, and the first failure cancels the other.
	var users []*User
	var contacts []*Contact
	rctx, cancel := context.WithCancel(ctx)
	var dirErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if users, dirErr = s.readDirectory(rctx, org, p, appr != nil, resolutions); dirErr != nil {
			cancel()
		}
	}()
	contacts, err = s.readContacts(rctx, cfg, p.selected|matchFields, p)
	if err != nil {
		cancel()
	}
	<-done
	cancel()
	if dirErr != nil && (err == nil || !errors.Is(dirErr, context.Canceled)) {
		return p, dirErr // the directory's own failure, not the cancellation it got
	}
	if err != nil {
		return p, err
	}
	prevConflicts, err := h.Conflicts(ctx, cfg.ID)
	if err != nil {
		return p, fmt.Errorf("adsync: load the conflicts of %q: %w", cfg.ID, err)
	}
	params := FieldParams{Selected: p.selected}
	if p.selected.Has(CountryID) {
		if cl, ok := s.opts.Store.(CountryLister); ok {
			if params.Countries, err = cl.Countries(ctx); err != nil {
				return p, fmt.Errorf("adsync: load Autotask's country list: %w", err)
			}
		} else {
			p.warn(Warning{Rule: "R-FIELD-6", Field: CountryID.String(),
				Message: "the contact store has no country list: countryID is not written"})
		}
	}
	rules, err := s.opts.Fields(params)
	if err != nil {
		return p, fmt.Errorf("adsync: field rules for %q: %w", cfg.ID, err)
	}

	s.progress(cfg.ID, PhasePlan, 0, len(users))
	pl := planner{s: s, cfg: cfg, p: p, rules: rules, appr: appr, users: users, contacts: contacts}
	if err := pl.run(ctx, links, prevConflicts, resolutions); err != nil {
		return p, err
	}
	p.finishWarnings()
	s.progress(cfg.ID, PhasePlan, len(users), len(users))
	return p, nil
}

// readDirectory reads the in-scope users, in full or incrementally, and
// applies the organization's scope rules (R-SCOPE-7, R-SCOPE-8, R-MATCH-8).
// An approval reads in full: the held users need not be in an incremental
// read's changes any more (R-DEACT-4).
func (s *Syncer) readDirectory(ctx context.Context, org Org, p *Plan, full bool, res []Resolution) ([]*User, error) {
	cfg := &org.Config
	full, cursor, err := s.readMode(ctx, org, full, res)
	if err != nil {
		return nil, err
	}
	limit := cfg.UserCap()
	var users chunked[User]
	p.disabled = map[string]bool{}
	page := func(us []User) error {
		for i := range us {
			u := &us[i]
			if u.ID == "" {
				p.warn(Warning{Rule: "R-LINK-1", Message: "the directory returned a user without an id (" + u.Label() + "): ignored"})
				continue
			}
			if !u.Enabled && !cfg.IncludeDisabled {
				p.disabled[u.ID] = true // out of scope (R-SCOPE-8)
				continue
			}
			if len(users.ptrs) >= limit {
				return &CapError{OrgID: cfg.ID, Count: len(users.ptrs) + 1, Limit: limit}
			}
			nu := users.add(*u)
			if cfg.EmailFromUPN && strings.TrimSpace(nu.Values[Email]) == "" {
				nu.Values[Email] = strings.TrimSpace(nu.UPN)
			}
		}
		s.progress(cfg.ID, PhaseReadDirectory, len(users.ptrs), 0)
		return nil
	}
	s.progress(cfg.ID, PhaseReadDirectory, 0, 0)
	inc, _ := org.Source.(IncrementalSource)
	switch {
	case inc != nil && !full:
		next, err := inc.UsersSince(ctx, cursor, page)
		if errors.Is(err, ErrCursorExpired) {
			s.log.Info("incremental cursor expired: reading in full", "org", cfg.ID)
			users, p.disabled = chunked[User]{}, map[string]bool{}
			full = true
			next, err = inc.UsersSince(ctx, "", page)
		}
		p.Cursor = next
		if err != nil {
			return nil, readError(cfg, err)
		}
	case inc != nil:
		next, err := inc.UsersSince(ctx, "", page)
		if err != nil {
			return nil, readError(cfg, err)
		}
		p.Cursor = next
	default:
		if err := org.Source.Users(ctx, page); err != nil {
			return nil, readError(cfg, err)
		}
	}
	p.FullRead = full
	p.Counts.Read = len(users.ptrs)
	return users.ptrs, nil
}

func readError(cfg *OrgConfig, err error) error {
	var ce *CapError
	if errors.As(err, &ce) {
		return err
	}
	// A read cut short never deactivates anything (R-DEACT-3).
	return fmt.Errorf("adsync: read the directory of %q: %w: %w", cfg.ID, ErrIncompleteRead, err)
}

// readMode decides between a full and an incremental read: full when
// asked, without the capability, without a cursor, when the last full read
// is older than FullReadEvery, or when an admin resolved a user since it
// (R-CONF-6: an incremental read need not deliver that user).
func (s *Syncer) readMode(ctx context.Context, org Org, force bool, res []Resolution) (full bool, cursor string, err error) {
	cfg := &org.Config
	if _, ok := org.Source.(IncrementalSource); !ok || cfg.FullReadEvery <= 0 || force {
		return true, "", nil
	}
	runs, err := s.opts.History.Runs(ctx, cfg.ID, 0)
	if err != nil {
		return false, "", fmt.Errorf("adsync: load the runs of %q: %w", cfg.ID, err)
	}
	every := cfg.FullReadEvery
	var lastFull *Run
	for i, r := range runs { // newest first
		if r.Status != StatusSucceeded && r.Status != StatusHeld {
			continue
		}
		if cursor == "" {
			cursor = r.Cursor
		}
		if r.FullRead && s.now().Sub(r.Started) < every {
			lastFull = &runs[i]
			break
		}
	}
	if lastFull == nil || cursor == "" {
		return true, cursor, nil
	}
	for _, r := range res {
		if !r.CreatedAt.Before(lastFull.Started) {
			return true, cursor, nil
		}
	}
	return false, cursor, nil
}

func (s *Syncer) readContacts(ctx context.Context, cfg *OrgConfig, fields FieldSet, p *Plan) ([]*Contact, error) {
	var cs chunked[Contact]
	s.progress(cfg.ID, PhaseReadContacts, 0, 0)
	sorted := true
	err := s.opts.Store.Contacts(ctx, cfg.CompanyID, fields, func(page []Contact) error {
		for i := range page {
			if page[i].ID <= p.maxContactID {
				sorted = false
			} else {
				p.maxContactID = page[i].ID
			}
			cs.add(page[i])
		}
		s.progress(cfg.ID, PhaseReadContacts, len(cs.ptrs), 0)
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("adsync: organization %q: Autotask company %d does not exist (check companyId): %w", cfg.ID, cfg.CompanyID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("adsync: read the contacts of company %d for %q: %w", cfg.CompanyID, cfg.ID, err)
	}
	if !sorted { // the contract says ascending ids; lookups need them
		slices.SortFunc(cs.ptrs, func(a, b *Contact) int { return cmp.Compare(a.ID, b.ID) })
		p.maxContactID = cs.ptrs[len(cs.ptrs)-1].ID
	}
	return cs.ptrs, nil
}

// planner computes one plan. It does no I/O.
type planner struct {
	s        *Syncer
	cfg      *OrgConfig
	p        *Plan
	rules    FieldRules
	appr     *approval
	users    []*User
	contacts []*Contact // ascending ids
	ids      []int64    // the contacts' ids, for cache-friendly search
	active   []bool     // the contacts' isActive, likewise

	links       []Link
	linkContact []int32 // by link: index of its contact in contacts, -1 if gone
	// linkState holds, by link, the flags below: a byte per link stays in
	// cache where the 400,000 links themselves do not.
	linkState  []uint8
	linkedUser []string // by contact index: the user linked to it, confirmed links only
	prevConf   map[string]Conflict
}

// Flags of planner.linkState.
const (
	linkPending uint8 = 1 << iota // a create journal entry not reconciled
	linkSeen                      // its user was read in scope
	linkGone                      // dropped (R-LINK-4, R-RUN-7)
)

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
	case taken && other != u.ID:
		why = "is linked to user " + other
	default:
		pl.linkState[i] |= linkGone // replaced, not deactivated
		if ci := pl.linkContact[i]; pl.linkedUser[ci] == u.ID {
			pl.linkedUser[ci] = ""
		}
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
			pl.linkedUser[ci] = l.UserID
		}
	}
	userLink, dups := joinUsers(pl.users, links)
	for _, d := range dups {
		u := pl.users[d]
		p.warn(Warning{Rule: "R-LINK-1", UserID: u.ID, Message: "the directory returned this user twice: the second copy is ignored"})
		userLink[d] = -2
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
		if i := userLink[k]; i >= 0 && pl.linkState[i]&(linkGone|linkPending) == 0 {
			pl.linkState[i] |= linkSeen
			l := &pl.links[i]
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
				pl.planLinked(u, l, c)
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
		if _, ok := pl.s.opts.Store.(BillingProductAssigner); !ok {
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
		l := &pl.links[i]
		want := l.Written
		found := -1
		// Only contacts above the journal's mark: ascending ids.
		from, _ := slices.BinarySearch(pl.ids, l.After+1)
		for ci := from; ci < len(pl.contacts); ci++ {
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
			pl.dropLink(i)
			continue
		}
		c := pl.contacts[found]
		l.Pending, l.ContactID, l.After, l.Created, l.Active = false, c.ID, 0, true, true
		pl.linkState[i] &^= linkPending
		l.SyncedAt = pl.p.Planned
		pl.linkContact[i] = int32(found)
		pl.linkedUser[found] = l.UserID
		pl.p.confirmLinks = append(pl.p.confirmLinks, *l)
		pl.s.log.Info("create journal reconciled", "org", pl.cfg.ID, "user", l.UserID, "contact", c.ID)
	}
}

// planLinked plans the update of a linked user's contact: reactivation
// when it is inactive (R-LINK-3), the differing fields (R-FIELD-*).
func (pl *planner) planLinked(u *User, l *Link, c *Contact) {
	upd, warns := pl.rules.Update(u, c)
	pl.p.warn(warns...)
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
	ch.UserID, ch.User, ch.ContactID, ch.Contact, ch.user, ch.link = u.ID, u.Label(), c.ID, c.Label(), u, *l
	ch.setFields(c, upd)
	pl.p.Changes = append(pl.p.Changes, ch)
}

func ptr[T any](v T) *T { return &v }

func (ch *Change) setFields(c *Contact, upd ContactUpdate) {
	ch.set, ch.values = upd.Fields, upd.Values
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
		if other, taken := pl.linkedTo(r.ContactID); taken && other != u.ID {
			pl.p.Skips = append(pl.p.Skips, Skip{UserID: u.ID, User: u.Label(), Rule: "R-CONF-6",
				Reason: fmt.Sprintf("the resolution maps this user to contact %d, which is now linked to user %s: resolve again", r.ContactID, other)})
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
		user: u, Resolution: resolution}
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
	ch := Change{Kind: ChangeCreate, Rule: rule, UserID: u.ID, User: u.Label(), user: u, values: vals, Resolution: resolution}
	for f := Field(0); f < NumFields; f++ {
		if vals[f] != "" {
			ch.set = ch.set.With(f)
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
	decisions, err := pl.s.opts.Matcher.Match(ctx, in)
	if err != nil {
		return fmt.Errorf("adsync: match the users of %q: %w", pl.cfg.ID, err)
	}
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
			if !in {
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
		rule := "R-DEACT-1"
		if p.disabled[l.UserID] {
			rule = "R-SCOPE-8"
		}
		deact = append(deact, Change{Kind: ChangeDeactivate, Rule: rule, UserID: l.UserID, User: "user " + l.UserID,
			ContactID: c.ID, Contact: c.Label(), Active: ptr(false), link: *l})
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
