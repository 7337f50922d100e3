package adsync

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChangeKind is the kind of a planned write. Each change has exactly one
// kind and counts in exactly one of Counts.Created, Linked, Updated,
// Reactivated and Deactivated: a change that makes an inactive contact
// active is a reactivation, whether its user was linked before (R-LINK-2,
// R-LINK-3) or is linked by it (R-MATCH-2, R-MATCH-4, R-CONF-6).
type ChangeKind string

// The change kinds.
const (
	// ChangeCreate creates a contact for an unmatched user (R-MATCH-5).
	ChangeCreate ChangeKind = "create"
	// ChangeLink links a user to an existing active contact (R-MATCH-1,
	// R-MATCH-3, R-CONF-6), with the field updates that come with it. It
	// never reactivates: a link to an inactive contact is a
	// ChangeReactivate. A link to a contact that already agrees with its
	// user sends no write (Change.Writes).
	ChangeLink ChangeKind = "link"
	// ChangeUpdate updates a linked user's contact (R-LINK-2, R-FIELD-3).
	ChangeUpdate ChangeKind = "update"
	// ChangeReactivate makes an inactive contact active, with its field
	// updates: the contact of a linked user (R-LINK-2, R-LINK-3), or one a
	// user is newly linked to (R-MATCH-2, R-MATCH-4, R-CONF-6).
	ChangeReactivate ChangeKind = "reactivate"
	// ChangeDeactivate makes the contact of a user who left scope inactive
	// (R-DEACT-1).
	ChangeDeactivate ChangeKind = "deactivate"
	// ChangeUnlink drops the user's link to the contact and sends nothing
	// to Autotask: an undo drops a link the undone run made this way
	// (Syncer.PlanUndo), keeping the link in Change.Unlinked so that
	// undoing the undo makes it again.
	ChangeUnlink ChangeKind = "unlink"
)

// ChangeKinds returns every change kind, in the order a plan's summary
// lists them.
func ChangeKinds() []ChangeKind {
	return []ChangeKind{ChangeCreate, ChangeLink, ChangeReactivate, ChangeUpdate, ChangeDeactivate, ChangeUnlink}
}

// FieldChange is one field's value before and after a change.
type FieldChange struct {
	Field  Field  `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Change is one planned write to one contact.
type Change struct {
	Kind ChangeKind `json:"kind"`
	// Rule is the id of the rule that produced the change.
	Rule   string `json:"rule"`
	UserID string `json:"userId"`
	User   string `json:"user"`
	// ContactID is the contact written, 0 for a create.
	ContactID int64  `json:"contactId,omitempty"`
	Contact   string `json:"contact,omitempty"`
	// Fields are the field values written, with the contact's values before.
	Fields []FieldChange `json:"fields,omitempty"`
	// Active, when non-nil, is the isActive value written.
	Active *bool `json:"active,omitempty"`
	// Resolution is true when an admin's resolution produced the change.
	Resolution bool `json:"resolution,omitempty"`
	// Unlinked are the links the change dropped or replaced, as they were
	// before it: the user's link to another contact that an admin's map
	// resolution replaced, the link of an out-of-scope user whose contact
	// the resolution took over (R-CONF-6), the link an undo dropped. The
	// log keeps them so that undoing the run makes them again.
	Unlinked []Link `json:"unlinked,omitempty"`

	// set are the fields written; their values are the Afters of Fields
	// (values). A plan of 400,000 creates keeps each value once: a Change
	// is 152 bytes, not the 560 it took with a copy of the values and of
	// the link.
	set    FieldSet
	link   *Link // the link before the change, for linked users; nil for a new link
	linkOp uint8 // what the write does to the link: linkKeep, or an undo's linkDrop / linkLeave
}

// values returns the values the change writes: for a create, the full
// values (the fields not written are blank); otherwise the partial update,
// the fields of ch.set.
func (ch *Change) values() Values {
	var v Values
	for _, f := range ch.Fields {
		if ch.set.Has(f.Field) {
			v[f.Field] = f.After
		}
	}
	return v
}

// Plan is what a run would write, computed without writing anything
// (Syncer.Plan). It lists every change with its before and after values and
// the rule that produced it. Apply it with Syncer.Apply.
type Plan struct {
	OrgID     string `json:"orgId"`
	CompanyID int64  `json:"companyId"`
	// Planned is when the plan was computed.
	Planned time.Time `json:"planned"`
	// FullRead: the directory was read in full, so deactivations are
	// possible (R-DEACT-3).
	FullRead bool     `json:"fullRead"`
	Changes  []Change `json:"changes"`
	// Held are the deactivations the guard held (R-DEACT-4).
	Held []Change `json:"held,omitempty"`
	// Pending are the deactivations waiting out the grace period
	// (R-DEACT-7), by user id.
	Pending []PendingDeactivation `json:"pending,omitempty"`
	// Exempt are the deactivations not made because the contact is exempt
	// (R-DEACT-9).
	Exempt []Exempted `json:"exempt,omitempty"`
	// Kept are the Autotask edits kept (R-FIELD-9) or overwritten and
	// reported (R-FIELD-10).
	Kept []KeptEdit `json:"kept,omitempty"`
	// Move is what carrying links across a directory move did (R-LINK-6),
	// nil when no link was carried over.
	Move *MoveReport `json:"move,omitempty"`
	// Window is what the guard's window saw (R-DEACT-6), nil without one.
	Window    *GuardWindow `json:"window,omitempty"`
	Conflicts []Conflict   `json:"conflicts,omitempty"`
	Skips     []Skip       `json:"skips,omitempty"`
	Warnings  []Warning    `json:"warnings,omitempty"`
	// Counts are what applying the plan would count, write failures aside.
	Counts Counts `json:"counts"`
	// TLS is the directory connection status seen while planning.
	TLS TLSStatus `json:"tls"`
	// Cursor is the incremental-read cursor to keep after the plan is
	// applied.
	Cursor string `json:"cursor,omitempty"`
	// Calls estimates the API calls of the run and the hours they take
	// under the store's budget (set by Syncer.Plan; WriteTo prints it for
	// a run that needs a tenth of an hour's budget or more).
	Calls CallEstimate `json:"calls,omitzero"`

	// Applying state, not for callers.
	dropLinks    []string // links to drop: contact gone (R-LINK-4), create never made (R-RUN-7)
	confirmLinks []Link   // pending creates reconciled with a contact (R-RUN-7)
	markLinks    []Link   // links whose missing time or anchor changed (R-DEACT-7, R-LINK-6)
	movePut      []Link   // links re-keyed by a directory move (R-LINK-6)
	moveDrop     []string // their old keys, deleted once the new are saved
	// confirmNew marks, by confirmLinks, the creates no run counted yet:
	// the run that reconciles them counts them.
	confirmNew []bool
	// readAt is when the contacts read started: a journaled create not
	// found by a read that started JournalGrace after it was never made.
	readAt time.Time
	// gone are the linked contacts missing from the read that the store
	// confirmed deleted or moved (R-DEACT-5, R-LINK-4).
	gone         map[int64]bool
	disabled     map[string]bool // users read but disabled (R-SCOPE-8)
	unlisted     map[string]int  // warnings past maxPlanWarnings, by rule
	maxContactID int64
	contactsRead int     // the contacts the plan read, for Calls
	basis        runMark // the newest run when the plan was made, for Apply
	billing      int64
	selected     FieldSet
	// For the observer: the certificate's expiry and the read durations.
	certExpiry time.Time
	reads      map[Phase]time.Duration
	trigger    Trigger // the trigger of the run applying it; "" for TriggerForced
	undoOf     int64   // the run an undo plan undoes (PlanUndo)
}

// maxPlanWarnings bounds the warnings a plan lists one by one: a directory
// whose every user has, say, an unknown country would otherwise list
// 400,000 of them. The rest are counted per rule (see finishWarnings).
const maxPlanWarnings = MaxRunDetails / 2

func (p *Plan) warn(ws ...Warning) {
	for _, w := range ws {
		if len(p.Warnings) < maxPlanWarnings {
			p.Warnings = append(p.Warnings, w)
			continue
		}
		if p.unlisted == nil {
			p.unlisted = map[string]int{}
		}
		p.unlisted[w.Rule]++
	}
}

// finishWarnings adds one warning per rule whose warnings were not all
// listed.
func (p *Plan) finishWarnings() {
	rules := make([]string, 0, len(p.unlisted))
	for r := range p.unlisted {
		rules = append(rules, r)
	}
	slices.Sort(rules)
	for _, r := range rules {
		p.Warnings = append(p.Warnings, Warning{Rule: r,
			Message: strconv.Itoa(p.unlisted[r]) + " more warnings of this rule are not listed"})
	}
	p.unlisted = nil
}

// Writes returns the number of contact writes applying the plan sends: its
// changes but the new links to contacts that already agree (Change.Writes).
// A create with a billing product sends a second call, which Writes does
// not count.
func (p *Plan) Writes() int {
	n := 0
	for i := range p.Changes {
		if p.Changes[i].Writes() {
			n++
		}
	}
	return n
}

// Empty reports whether applying the plan would change nothing at all: no
// write, no held deactivation, no link to save or drop. An empty plan can
// still be applied, and records a run (which pushes the oldest kept run
// out): a caller may rather not.
func (p *Plan) Empty() bool {
	return len(p.Changes) == 0 && len(p.Held) == 0 && len(p.dropLinks) == 0 && len(p.confirmLinks) == 0 &&
		len(p.movePut) == 0 && len(p.moveDrop) == 0 && len(p.markLinks) == 0
}

// Summary is a one-line account of the plan.
func (p *Plan) Summary() string {
	c := p.Counts
	if p.undoOf != 0 {
		return fmt.Sprintf("%s: undo of run %d: %d to update, %d to reactivate, %d to deactivate, %d held",
			p.OrgID, p.undoOf, c.Updated, c.Reactivated, c.Deactivated, c.Held)
	}
	return fmt.Sprintf("%s: %d users read; %d to create, %d to link, %d to update, %d to reactivate, %d to deactivate, %d held, %d unchanged, %d conflicts, %d skipped",
		p.OrgID, c.Read, c.Created, c.Linked, c.Updated, c.Reactivated, c.Deactivated, c.Held, c.Unchanged, c.Conflicts, c.Skipped)
}

// String returns the whole plan as a readable diff (see WriteTo).
func (p *Plan) String() string {
	var b strings.Builder
	_, _ = p.WriteTo(&b)
	return b.String()
}

// WriteTo writes the plan as a readable diff: the summary, then one block
// per change with its rule and a "before → after" line per field, then held
// deactivations, conflicts, skips and warnings.
func (p *Plan) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	fmt.Fprintln(cw, p.Summary())
	p.writeEstimate(cw)
	for i := range p.Changes {
		p.Changes[i].write(cw, "")
	}
	for i := range p.Held {
		p.Held[i].write(cw, "held: ")
	}
	p.writeSafety(cw)
	for _, c := range p.Conflicts {
		fmt.Fprintf(cw, "! conflict %s [%s] %s: %s\n", c.Kind, c.Kind.Rule(), c.User, c.Detail)
	}
	for _, s := range p.Skips {
		fmt.Fprintf(cw, "- skip %s [%s]: %s\n", s.User, s.Rule, s.Reason)
	}
	for _, wr := range p.Warnings {
		fmt.Fprintf(cw, "? warning %s\n", wr)
	}
	return cw.n, cw.err
}

var changeMarks = map[ChangeKind]string{
	ChangeCreate: "+", ChangeLink: "=", ChangeUpdate: "~", ChangeReactivate: "^", ChangeDeactivate: "x", ChangeUnlink: "-",
}

func (c *Change) write(w io.Writer, prefix string) {
	target := c.Contact
	if c.Kind == ChangeCreate {
		target = "new contact"
	} else if target == "" {
		target = "contact " + strconv.FormatInt(c.ContactID, 10)
	}
	fmt.Fprintf(w, "%s%s %s %s → %s [%s]\n", prefix, changeMarks[c.Kind], c.Kind, c.User, target, c.Rule)
	if c.Active != nil {
		fmt.Fprintf(w, "    isActive: %d → %d\n", b2i(!*c.Active), b2i(*c.Active))
	}
	for _, f := range c.Fields {
		if c.Kind == ChangeCreate {
			fmt.Fprintf(w, "    %s: %q\n", f.Field, f.After)
			continue
		}
		fmt.Fprintf(w, "    %s: %q → %q\n", f.Field, f.Before, f.After)
	}
	for _, l := range c.Unlinked {
		fmt.Fprintf(w, "    unlinked: user %s from contact %d\n", l.UserID, l.ContactID)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
