package adsync

import (
	"time"
)

// PendingDeactivation is a linked user out of scope whose contact waits
// out the organization's grace period before it is deactivated (R-DEACT-7).
type PendingDeactivation struct {
	UserID    string `json:"userId"`
	ContactID int64  `json:"contactId"`
	Contact   string `json:"contact,omitempty"`
	// MissingSince is when a read first missed the user; Due is when its
	// contact is deactivated if it stays out of scope.
	MissingSince time.Time `json:"missingSince"`
	Due          time.Time `json:"due"`
	// Disabled: the directory returned the user disabled (R-SCOPE-8).
	Disabled bool `json:"disabled,omitempty"`
}

// graceWaits applies the grace period to link i, out of scope, whose
// active contact c would be deactivated: it reports whether the
// deactivation waits, listing it as pending, and starts the wait on the
// first run that misses the user. The link's new missing time is saved
// when the plan is applied (Plan.markLinks).
func (pl *planner) graceWaits(i int, c *Contact) bool {
	l := &pl.links[i]
	after := pl.cfg.DeactivateAfter
	disabled := pl.p.disabled[l.UserID]
	if after <= 0 || (disabled && pl.cfg.DisabledAtOnce) {
		return false
	}
	now := pl.p.Planned
	if l.MissingSince.IsZero() {
		l = pl.mutable(i)
		l.MissingSince = now
		pl.p.markLinks = append(pl.p.markLinks, pl.link(i))
	}
	due := l.MissingSince.Add(after)
	if !now.Before(due) {
		return false // due: the guard counts it (R-DEACT-4)
	}
	pl.p.Pending = append(pl.p.Pending, PendingDeactivation{UserID: l.UserID, ContactID: c.ID, Contact: c.Label(),
		MissingSince: l.MissingSince, Due: due, Disabled: disabled})
	return true
}

// graceBack clears the missing time of link i, whose user a read found in
// scope again: its grace period starts afresh the next time it leaves, and
// the contact was never touched (R-DEACT-7).
func (pl *planner) graceBack(i int) {
	if pl.links[i].MissingSince.IsZero() {
		return
	}
	l := pl.mutable(i)
	l.MissingSince = time.Time{}
	pl.p.markLinks = append(pl.p.markLinks, pl.link(i))
}
