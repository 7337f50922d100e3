package adsync

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Exemption keeps one contact of an organization from ever being
// deactivated by the sync (R-DEACT-9): a director's assistant kept active
// after leaving the directory, a shared billing contact. It is kept in the
// history and set with Syncer.Exempt.
type Exemption struct {
	OrgID     string `json:"orgId"`
	ContactID int64  `json:"contactId"`
	// Reason and By are free text for the admins.
	Reason    string    `json:"reason,omitempty"`
	By        string    `json:"by,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

// ExemptionStore keeps the exempt contacts of each organization
// (R-DEACT-9), keyed by (OrgID, ContactID). Every run of every Syncer over
// the store reads them, so that an exemption set through one process keeps
// the contact active in the runs of all.
type ExemptionStore interface {
	// Exemptions returns the organization's exemptions, in no particular
	// order, each with OrgID set.
	Exemptions(ctx context.Context, orgID string) ([]Exemption, error)
	// PutExemption inserts or replaces the exemption of (OrgID, ContactID).
	PutExemption(ctx context.Context, e Exemption) error
	// DeleteExemption removes the contact's exemption; ErrNotFound if there
	// is none.
	DeleteExemption(ctx context.Context, orgID string, contactID int64) error
}

// Exempt keeps a contact of the organization from ever being deactivated
// by the sync (R-DEACT-9); its other fields are still updated. The
// exemption is kept in the history until Unexempt.
func (s *Syncer) Exempt(ctx context.Context, org OrgConfig, e Exemption) error {
	if err := org.Validate(); err != nil {
		return err
	}
	e.OrgID = org.ID
	if e.ContactID <= 0 {
		return &ConfigError{Field: "exemption.contactId", Problem: fmt.Sprintf("must be the id of an Autotask contact (a positive number), got %d", e.ContactID)}
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	if err := s.opts.History.PutExemption(ctx, e); err != nil {
		return fmt.Errorf("adsync: exempt contact %d of %q: %w", e.ContactID, org.ID, err)
	}
	return nil
}

// Unexempt removes a contact's exemption (R-DEACT-9): the next full run
// deactivates it if its user is out of scope. ErrNotFound if it has none.
func (s *Syncer) Unexempt(ctx context.Context, orgID string, contactID int64) error {
	if err := s.opts.History.DeleteExemption(ctx, orgID, contactID); err != nil {
		return fmt.Errorf("adsync: remove the exemption of contact %d of %q: %w", contactID, orgID, err)
	}
	return nil
}

// Exemptions returns the organization's exempt contacts, by contact id.
func (s *Syncer) Exemptions(ctx context.Context, orgID string) ([]Exemption, error) {
	es, err := s.opts.History.Exemptions(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("adsync: exemptions of %q: %w", orgID, err)
	}
	slices.SortFunc(es, func(a, b Exemption) int { return cmp.Compare(a.ContactID, b.ContactID) })
	return es, nil
}

// Exempted is a deactivation the sync did not make because the contact is
// exempt (R-DEACT-9), as the plan lists it.
type Exempted struct {
	UserID    string `json:"userId"`
	ContactID int64  `json:"contactId"`
	Contact   string `json:"contact,omitempty"`
	// Source is "history" (Syncer.Exempt) or "field" (Contact.Exempt, as
	// the contact store read it: the Autotask user-defined field named by
	// the autotask client's ExemptUDF).
	Source string `json:"source"`
	Reason string `json:"reason,omitempty"`
}

// exempted reports whether contact c, whose user left scope, is exempt
// from deactivation, and lists it on the plan if so.
func (pl *planner) exempted(l *Link, c *Contact) bool {
	src, reason := "", ""
	if e, ok := pl.exempt[c.ID]; ok {
		src, reason = "history", e.Reason
	} else if c.Exempt {
		src = "field"
	}
	if src == "" {
		return false
	}
	pl.p.Exempt = append(pl.p.Exempt, Exempted{UserID: l.UserID, ContactID: c.ID, Contact: c.Label(), Source: src, Reason: reason})
	return true
}
