package adsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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

// reading is what one run read: everything the planner needs, each piece
// loaded once, under the organization's lock. Planning is a pure function
// of it (planFrom).
type reading struct {
	tls        TLSStatus
	certExpiry time.Time               // the directory's certificate, for the observer
	reads      map[Phase]time.Duration // how long each read took, for the observer
	dirRead
	contacts     []*Contact // ascending ids
	maxContactID int64      // the highest contact id read
	readAt       time.Time  // when the contacts read started
	gone         map[int64]bool
	links        []Link       // without their written values: see written
	written      *writtenVals // the links' written values, nil when none has any
	resolutions  []Resolution
	exemptions   []Exemption // R-DEACT-9
	conflicts    []Conflict  // the open conflicts before this run
	rules        FieldRules
	canBill      bool // the store assigns billing products
	warnings     []Warning
}

// dirRead is what the directory read gave; the directory goroutine fills
// it alone.
type dirRead struct {
	users    []*User
	disabled map[string]bool // users read but disabled (R-SCOPE-8)
	full     bool
	cursor   string
	// dirWarns are the read's warnings, the first maxPlanWarnings of
	// them; dirUnlisted counts the others by rule.
	dirWarns    []Warning
	dirUnlisted map[string]int
}

func (d *dirRead) warn(w Warning) {
	if len(d.dirWarns) < maxPlanWarnings {
		d.dirWarns = append(d.dirWarns, w)
		return
	}
	if d.dirUnlisted == nil {
		d.dirUnlisted = map[string]int{}
	}
	d.dirUnlisted[w.Rule]++
}

// plan reads and plans; see Syncer.Plan. It writes nothing. On an error
// after the check, the partial plan carries the TLS status.
func (s *Syncer) plan(ctx context.Context, org Org, appr *approval, runs []Run) (*Plan, error) {
	cfg := &org.Config
	r, err := s.read(ctx, org, appr != nil, runs)
	if err != nil {
		return &Plan{OrgID: cfg.ID, CompanyID: cfg.CompanyID, Planned: s.now(), TLS: r.tls,
			certExpiry: r.certExpiry, reads: r.reads}, err
	}
	s.progress(cfg.ID, PhasePlan, 0, len(r.users))
	p, err := planFrom(ctx, cfg, r, planParams{matcher: s.opts.Matcher, appr: appr, grace: s.opts.JournalGrace, now: s.now(), log: s.log,
		window: windowOf(runs, cfg.Guard.Window, s.now())})
	if err != nil {
		return p, err
	}
	s.progress(cfg.ID, PhasePlan, len(r.users), len(r.users))
	return p, nil
}

// read checks both ends and reads everything a plan needs (docs/design.md "One
// run", steps 2 to 5), given the organization's kept runs. It always
// returns a reading, for its TLS status.
func (s *Syncer) read(ctx context.Context, org Org, full bool, runs []Run) (*reading, error) {
	cfg := &org.Config
	r := &reading{tls: TLSUnknown}
	h := s.opts.History

	// Check: both ends reachable and authenticated before reading anything.
	st, err := org.Source.Check(ctx)
	if st.TLS != "" {
		r.tls = st.TLS
	}
	r.certExpiry = st.CertExpiry
	if err != nil {
		return r, fmt.Errorf("adsync: check the directory of %q: %w", cfg.ID, err)
	}
	if err := s.opts.Store.Check(ctx, cfg.CompanyID); err != nil {
		return r, fmt.Errorf("adsync: check Autotask company %d for %q: %w", cfg.CompanyID, cfg.ID, err)
	}

	if r.resolutions, err = h.Resolutions(ctx, cfg.ID); err != nil {
		return r, fmt.Errorf("adsync: load the resolutions of %q: %w", cfg.ID, err)
	}
	// The two reads are independent and each waits on a server: they run
	// at once, and the first failure cancels the other. Each fills its own
	// part of r. The links load at the same time (neither read needs
	// them): at 400,000 links they take a second or more of the history's
	// CPU, which would otherwise come before the reads' waiting. Once
	// loaded, the reads share the links' strings (sharer); what they read
	// before is shared after them (catchUp).
	r.readAt = s.now()
	rctx, cancel := context.WithCancel(ctx)
	sh := &lateSharer{}
	var linksErr error
	linksDone := make(chan struct{})
	go func() {
		defer close(linksDone)
		var links []Link
		if links, linksErr = h.Links(rctx, cfg.ID); linksErr != nil {
			cancel()
			return
		}
		r.links, r.written = compactLinks(links)
		sh.set(newSharer(r.links, r.written))
	}()
	var dirErr error
	var dirTook time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		t0 := time.Now()
		if dirErr = s.readDirectory(rctx, org, &r.dirRead, full, r.resolutions, runs, sh); dirErr != nil {
			cancel()
		}
		dirTook = time.Since(t0)
	}()
	t0 := time.Now()
	r.contacts, err = s.readContacts(rctx, cfg, cfg.Selected()|matchFields, r, sh)
	if err != nil {
		cancel()
	}
	contactsTook := time.Since(t0)
	<-done
	<-linksDone
	cancel()
	linksFailed := func() error { return fmt.Errorf("adsync: load the links of %q: %w", cfg.ID, linksErr) }
	if linksErr != nil && !errors.Is(linksErr, context.Canceled) {
		return r, linksFailed() // its own failure, not a read's cancellation
	}
	r.reads = map[Phase]time.Duration{}
	if dirErr == nil {
		r.reads[PhaseReadDirectory] = dirTook
	}
	if err == nil {
		r.reads[PhaseReadContacts] = contactsTook
	}
	if dirErr != nil && (err == nil || !errors.Is(dirErr, context.Canceled)) {
		return r, dirErr // the directory's own failure, not the cancellation it got
	}
	if err != nil {
		return r, err
	}
	if linksErr != nil {
		return r, linksFailed()
	}
	sh.catchUp(r.users, r.contacts)
	if r.gone, err = s.missingContacts(ctx, cfg, r.links, r.contacts); err != nil {
		return r, err
	}
	if r.exemptions, err = h.Exemptions(ctx, cfg.ID); err != nil {
		return r, fmt.Errorf("adsync: load the exemptions of %q: %w", cfg.ID, err)
	}
	if r.conflicts, err = h.Conflicts(ctx, cfg.ID); err != nil {
		return r, fmt.Errorf("adsync: load the conflicts of %q: %w", cfg.ID, err)
	}
	params := FieldParams{Selected: cfg.Selected()}
	if params.Selected.Has(CountryID) {
		if cl, ok := s.opts.Store.(CountryLister); ok {
			if params.Countries, err = cl.Countries(ctx); err != nil {
				return r, fmt.Errorf("adsync: load Autotask's country list: %w", err)
			}
		} else {
			r.warnings = append(r.warnings, Warning{Rule: "R-FIELD-6", Field: CountryID.String(),
				Message: "the contact store has no country list: countryID is not written"})
		}
	}
	if r.rules, err = s.opts.Fields(params); err != nil {
		return r, fmt.Errorf("adsync: field rules for %q: %w", cfg.ID, err)
	}
	_, r.canBill = s.opts.Store.(BillingProductAssigner)
	return r, nil
}

func (s *Syncer) readDirectory(ctx context.Context, org Org, d *dirRead, full bool, res []Resolution, runs []Run, sh *lateSharer) error {
	cfg := &org.Config
	full, cursor := s.readMode(org, full, res, runs)
	limit := cfg.UserCap()
	var users chunked[User]
	d.disabled = map[string]bool{}
	page := func(us []User) error {
		share := sh.forUsers(len(users.ptrs))
		for i := range us {
			u := &us[i]
			// Every store gets the same valid text, and the contact written
			// equals the directory's value on the next run (R-FIELD-8).
			if changed := cleanUser(u); len(changed) > 0 {
				d.warn(Warning{Rule: "R-FIELD-8", UserID: u.ID, Message: fmt.Sprintf(
					"%s: %s held bytes that are not valid UTF-8 (read as Latin-1) or NUL bytes (removed)",
					u.Label(), strings.Join(changed, ", "))})
			}
			if u.ID == "" {
				d.warn(Warning{Rule: "R-LINK-1", Message: "the directory returned a user without an id (" + u.Label() + "): ignored"})
				continue
			}
			if len(u.ID) > MaxUserIDLen {
				// No directory has such ids (a GUID is 36 bytes), and a
				// history store must be able to key a link by it.
				d.warn(Warning{Rule: "R-LINK-1", Message: fmt.Sprintf("the directory returned a user id of %d bytes, more than %d (%s): ignored",
					len(u.ID), MaxUserIDLen, cutText(u.ID, 64))})
				continue
			}
			if !u.Enabled && !cfg.IncludeDisabled {
				d.disabled[u.ID] = true // out of scope (R-SCOPE-8)
				continue
			}
			if len(users.ptrs) >= limit {
				return &CapError{OrgID: cfg.ID, Count: len(users.ptrs) + 1, Limit: limit}
			}
			nu := users.add(*u)
			if cfg.EmailFromUPN && strings.TrimSpace(nu.Values[Email]) == "" {
				nu.Values[Email] = strings.TrimSpace(nu.UPN)
			}
			shareUser(share, nu)
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
			users, d.disabled = chunked[User]{}, map[string]bool{}
			sh.resetUsers()
			full = true
			next, err = inc.UsersSince(ctx, "", page)
		}
		d.cursor = next
		if err != nil {
			return readError(cfg, err)
		}
	case inc != nil:
		next, err := inc.UsersSince(ctx, "", page)
		if err != nil {
			return readError(cfg, err)
		}
		d.cursor = next
	default:
		if err := org.Source.Users(ctx, page); err != nil {
			return readError(cfg, err)
		}
	}
	d.full = full
	d.users = users.ptrs
	return nil
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
func (s *Syncer) readMode(org Org, force bool, res []Resolution, runs []Run) (full bool, cursor string) {
	cfg := &org.Config
	if _, ok := org.Source.(IncrementalSource); !ok || cfg.FullReadEvery <= 0 || force {
		return true, ""
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
		return true, cursor
	}
	for _, r := range res {
		if !r.CreatedAt.Before(lastFull.Started) {
			return true, cursor
		}
	}
	return false, cursor
}

func (s *Syncer) readContacts(ctx context.Context, cfg *OrgConfig, fields FieldSet, r *reading, sh *lateSharer) ([]*Contact, error) {
	var cs chunked[Contact]
	s.progress(cfg.ID, PhaseReadContacts, 0, 0)
	sorted := true
	err := s.opts.Store.Contacts(ctx, cfg.CompanyID, fields, func(page []Contact) error {
		share := sh.forContacts(len(cs.ptrs))
		for i := range page {
			if page[i].ID <= r.maxContactID {
				sorted = false
			} else {
				r.maxContactID = page[i].ID
			}
			share.contact(cs.add(page[i]))
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
		sh.contactsMoved(len(cs.ptrs))
		slices.SortFunc(cs.ptrs, func(a, b *Contact) int { return cmp.Compare(a.ID, b.ID) })
		r.maxContactID = cs.ptrs[len(cs.ptrs)-1].ID
	}
	return cs.ptrs, nil
}

// maxMissingChecks bounds the linked contacts missing from a read that one
// run checks one by one (R-DEACT-5); the others wait for the next run.
const maxMissingChecks = 500

// missingContacts settles the linked contacts that the contacts read did
// not return (R-DEACT-5): a read can come back short or empty without an
// error (an API user whose security level hides contacts), so a missing
// contact is never taken as deleted on the read's word. Each is checked
// with the store (ContactGetter): one deleted or moved to another company
// is gone (its link is dropped, R-LINK-4); one still in the company proves
// the read incomplete, and the run fails before writing anything. Without
// ContactGetter, missing contacts stay unknown (their users wait), and a
// read missing more than a tenth of the links fails the run.
func (s *Syncer) missingContacts(ctx context.Context, cfg *OrgConfig, links []Link, contacts []*Contact) (map[int64]bool, error) {
	var missing []int64
	linked := 0
	for i := range links {
		l := &links[i]
		if l.Pending || l.ContactID == 0 {
			continue
		}
		linked++
		if _, ok := slices.BinarySearchFunc(contacts, l.ContactID, func(c *Contact, id int64) int { return cmp.Compare(c.ID, id) }); !ok {
			missing = append(missing, l.ContactID)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	suspect := func(why string) error {
		return fmt.Errorf("adsync: read the contacts of company %d for %q: %w: %d of the %d linked contacts are missing from a read of %d contacts, and %s; "+
			"nothing was written (R-DEACT-5). Check that the API user's security level can see every contact of the company",
			cfg.CompanyID, cfg.ID, ErrIncompleteContacts, len(missing), linked, len(contacts), why)
	}
	g, ok := s.opts.Store.(ContactGetter)
	if !ok {
		if len(missing) > max(10, linked/10) {
			return nil, suspect("the contact store cannot check them one by one")
		}
		return nil, nil
	}
	slices.Sort(missing)
	gone := make(map[int64]bool, min(len(missing), maxMissingChecks))
	for _, id := range missing[:min(len(missing), maxMissingChecks)] {
		c, err := g.GetContact(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			gone[id] = true
		case err != nil:
			return nil, fmt.Errorf("adsync: check linked contact %d of %q, missing from the contacts read: %w", id, cfg.ID, err)
		case c.CompanyID != cfg.CompanyID:
			gone[id] = true // moved to another company
		default:
			return nil, suspect(fmt.Sprintf("contact %d is in the company all the same", id))
		}
	}
	return gone, nil
}
