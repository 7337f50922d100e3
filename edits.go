package adsync

import (
	"fmt"
	"io"
	"strings"
)

// AutotaskEdits says what a run does with a field a technician edited in
// Autotask since the sync last wrote it (R-FIELD-9, R-FIELD-10).
type AutotaskEdits string

// The AutotaskEdits modes.
const (
	// EditsOverwrite writes the directory's value over it, as Autotask's
	// AD Sync does. The default ("" means it too).
	EditsOverwrite AutotaskEdits = "overwrite"
	// EditsKeep leaves the edited value and lists it in the plan (R-FIELD-9).
	EditsKeep AutotaskEdits = "keep"
	// EditsReport overwrites it, but lists the edit overwritten (R-FIELD-10).
	EditsReport AutotaskEdits = "report"
)

// Valid reports whether m is a mode ("" included: the default).
func (m AutotaskEdits) Valid() bool {
	return m == "" || m == EditsOverwrite || m == EditsKeep || m == EditsReport
}

// activeField names isActive in a KeptEdit.
const activeField = "isActive"

// KeptEdit is a value a technician set in Autotask that differs from the
// value the sync last wrote there and from the directory's: kept with
// autotaskEdits keep (R-FIELD-9), overwritten but listed with report
// (R-FIELD-10).
type KeptEdit struct {
	UserID    string `json:"userId"`
	ContactID int64  `json:"contactId"`
	Contact   string `json:"contact,omitempty"`
	// Field is the Autotask field name, or "isActive" for a contact a
	// technician made active again after the sync deactivated it
	// (R-DEACT-1).
	Field string `json:"field"`
	// Autotask is the technician's value; Written the value the sync last
	// wrote; Directory the directory's value now.
	Autotask  string `json:"autotask"`
	Written   string `json:"written"`
	Directory string `json:"directory"`
	// Kept: the Autotask value stays (keep); false: it is overwritten
	// (report).
	Kept bool `json:"kept"`
}

// threeWay applies the organization's autotaskEdits mode to the update of
// linked contact c: a field whose Autotask value differs from the value the
// sync last wrote there (l.Written) was edited in Autotask. A field the
// sync never wrote has no known base and is overwritten, as before.
func (pl *planner) threeWay(u *User, l *Link, c *Contact, upd *ContactUpdate) {
	mode := pl.cfg.AutotaskEdits
	if mode != EditsKeep && mode != EditsReport || len(l.Written) == 0 {
		return
	}
	for _, f := range upd.Fields.Fields() {
		base, ok := l.Written[f]
		if !ok || strings.TrimSpace(c.Values[f]) == strings.TrimSpace(base) {
			continue
		}
		pl.p.Kept = append(pl.p.Kept, KeptEdit{UserID: u.ID, ContactID: c.ID, Contact: c.Label(), Field: f.String(),
			Autotask: c.Values[f], Written: base, Directory: upd.Values[f], Kept: mode == EditsKeep})
		if mode == EditsKeep {
			upd.Fields &^= 1 << f
			upd.Values[f] = ""
		}
	}
}

// keepReactivated reports whether the contact of link l, whose user is out
// of scope, stays active because a technician made it active again after
// the sync deactivated it (R-DEACT-1 with autotaskEdits keep); with
// report it is deactivated again, and listed.
func (pl *planner) keepReactivated(l *Link, c *Contact) bool {
	mode := pl.cfg.AutotaskEdits
	if l.Active || (mode != EditsKeep && mode != EditsReport) {
		return false
	}
	pl.p.Kept = append(pl.p.Kept, KeptEdit{UserID: l.UserID, ContactID: c.ID, Contact: c.Label(), Field: activeField,
		Autotask: "1", Written: "0", Directory: "0", Kept: mode == EditsKeep})
	return mode == EditsKeep
}

// write writes the plan's line of one kept or reported edit.
func (k *KeptEdit) write(w io.Writer) {
	if k.Kept {
		fmt.Fprintf(w, "= kept Autotask edit of user %s → %s [R-FIELD-9]: %s %q (the sync wrote %q; the directory says %q)\n",
			k.UserID, k.Contact, k.Field, k.Autotask, k.Written, k.Directory)
		return
	}
	fmt.Fprintf(w, "! overwritten Autotask edit of user %s → %s [R-FIELD-10]: %s %q (the sync wrote %q) becomes the directory's %q\n",
		k.UserID, k.Contact, k.Field, k.Autotask, k.Written, k.Directory)
}

// mergeWritten returns the link's last written values updated with those a
// change writes: a field keeps the value the sync last wrote there, however
// long ago (R-FIELD-9).
func mergeWritten(old map[Field]string, ch *Change) map[Field]string {
	m := make(map[Field]string, len(old)+len(ch.Fields))
	for f, v := range old {
		m[f] = v
	}
	for _, f := range ch.Fields {
		if ch.set.Has(f.Field) {
			m[f.Field] = f.After
		}
	}
	return m
}
