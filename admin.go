package adsync

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// OrgStatus is one row of the admin table (R-STATUS-1).
type OrgStatus struct {
	OrgID     string        `json:"orgId"`
	Name      string        `json:"name,omitempty"`
	CompanyID int64         `json:"companyId"`
	Enabled   bool          `json:"enabled"`
	Directory DirectoryType `json:"directory"`
	// ActiveLinkedUsers counts links whose contact the sync keeps active.
	ActiveLinkedUsers int `json:"activeLinkedUsers"`
	// OpenConflicts counts the conflicts of the last run (R-CONF-5).
	OpenConflicts int `json:"openConflicts"`
	// TLS is the directory's TLS status as last seen (R-STATUS-2):
	// not-applicable for Azure, unknown before the first connection.
	TLS              TLSStatus `json:"tls"`
	LastAttempt      time.Time `json:"lastAttempt,omitzero"` // zero: never
	BillingProductID int64     `json:"billingProductId,omitempty"`
	// Runs are the last attempts, newest first (at most KeepRuns).
	Runs []RunOutcome `json:"runs"`
}

// RunOutcome is the short form of a run for the status table.
type RunOutcome struct {
	ID      int64     `json:"id"`
	Trigger Trigger   `json:"trigger"`
	Started time.Time `json:"started"`
	Status  RunStatus `json:"status"`
	Error   string    `json:"error,omitempty"`
	Counts  Counts    `json:"counts"`
}

// Status returns the admin table of R-STATUS-1 for the organizations, in
// their order.
func (s *Syncer) Status(ctx context.Context, orgs []OrgConfig) ([]OrgStatus, error) {
	h := s.opts.History
	out := make([]OrgStatus, 0, len(orgs))
	for _, o := range orgs {
		st := OrgStatus{OrgID: o.ID, Name: o.Name, CompanyID: o.CompanyID, Enabled: o.Enabled,
			Directory: o.Directory, BillingProductID: o.BillingProductID, TLS: TLSUnknown}
		if o.Directory == DirectoryAzure {
			st.TLS = TLSNotApplicable
		}
		links, err := h.Links(ctx, o.ID)
		if err != nil {
			return nil, fmt.Errorf("adsync: status of %q: load links: %w", o.ID, err)
		}
		for i := range links {
			if !links[i].Pending && links[i].Active {
				st.ActiveLinkedUsers++
			}
		}
		cs, err := h.Conflicts(ctx, o.ID)
		if err != nil {
			return nil, fmt.Errorf("adsync: status of %q: load conflicts: %w", o.ID, err)
		}
		st.OpenConflicts = len(cs)
		runs, err := h.Runs(ctx, o.ID, KeepRuns)
		if err != nil {
			return nil, fmt.Errorf("adsync: status of %q: load runs: %w", o.ID, err)
		}
		for i, r := range runs {
			if i == 0 {
				st.LastAttempt = r.Started
			}
			if st.TLS == TLSUnknown && r.TLS != "" && r.TLS != TLSUnknown {
				st.TLS = r.TLS // the newest run that connected
			}
			st.Runs = append(st.Runs, RunOutcome{ID: r.ID, Trigger: r.Trigger, Started: r.Started, Status: r.Status, Error: r.Error, Counts: r.Counts})
		}
		out = append(out, st)
	}
	return out, nil
}

// Conflicts returns the organization's open conflicts.
func (s *Syncer) Conflicts(ctx context.Context, orgID string) ([]Conflict, error) {
	cs, err := s.opts.History.Conflicts(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("adsync: conflicts of %q: %w", orgID, err)
	}
	return cs, nil
}

// Resolve records an admin's resolution for a user (R-CONF-6), honoured by
// the next runs. Mapping to a contact is refused (ErrRefused) if the
// contact is not in the organization's company or is linked to another
// user in scope; ErrNotFound if it does not exist. A contact linked to a
// user out of scope (its link inactive, or missing within a grace period)
// may be taken over: the run that follows the resolution drops the old
// link if its user is still out of scope.
func (s *Syncer) Resolve(ctx context.Context, org OrgConfig, r Resolution) error {
	if err := org.Validate(); err != nil {
		return err
	}
	r.OrgID = org.ID
	if r.UserID == "" {
		return &ConfigError{Field: "resolution.userId", Problem: "is required"}
	}
	if !r.Action.Valid() {
		return &ConfigError{Field: "resolution.action", Problem: fmt.Sprintf("%q is not one of link, create, ignore", r.Action)}
	}
	if r.Action != ResolveLink {
		r.ContactID = 0
	} else if err := s.checkResolutionContact(ctx, org, r); err != nil {
		return err
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	if r.By == "" {
		r.By = Actor(ctx)
	}
	if err := s.opts.History.PutResolution(ctx, r); err != nil {
		return fmt.Errorf("adsync: save the resolution for user %s of %q: %w", r.UserID, org.ID, err)
	}
	return nil
}

func (s *Syncer) checkResolutionContact(ctx context.Context, org OrgConfig, r Resolution) error {
	if r.ContactID <= 0 {
		return &ConfigError{Field: "resolution.contactId", Problem: "a link resolution needs the id of the contact to link"}
	}
	links, err := s.opts.History.Links(ctx, org.ID)
	if err != nil {
		return fmt.Errorf("adsync: resolve user %s of %q: load links: %w", r.UserID, org.ID, err)
	}
	for _, l := range links {
		// A contact whose user left scope (deactivated for it, or missing
		// within a grace period) may be taken over by a re-created account;
		// the run checks the scope again (R-CONF-6).
		if !l.Pending && l.ContactID == r.ContactID && l.UserID != r.UserID && l.Active && l.MissingSince.IsZero() {
			return fmt.Errorf("adsync: resolve user %s of %q: %w: contact %d is linked to user %s, which was in scope at the last run (R-CONF-6)",
				r.UserID, org.ID, ErrRefused, r.ContactID, l.UserID)
		}
	}
	var c Contact
	found := false
	if g, ok := s.opts.Store.(ContactGetter); ok {
		c, err = g.GetContact(ctx, r.ContactID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("adsync: resolve user %s of %q: read contact %d: %w", r.UserID, org.ID, r.ContactID, err)
		}
		found = err == nil
	} else {
		err = s.opts.Store.Contacts(ctx, org.CompanyID, matchFields, func(cs []Contact) error {
			for i := range cs {
				if cs[i].ID == r.ContactID {
					c, found = cs[i], true
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("adsync: resolve user %s of %q: read contacts: %w", r.UserID, org.ID, err)
		}
	}
	if !found {
		return fmt.Errorf("adsync: resolve user %s of %q: contact %d: %w (in company %d)", r.UserID, org.ID, r.ContactID, ErrNotFound, org.CompanyID)
	}
	if c.CompanyID != org.CompanyID {
		return fmt.Errorf("adsync: resolve user %s of %q: %w: contact %d belongs to company %d, not %d (R-CONF-6)",
			r.UserID, org.ID, ErrRefused, r.ContactID, c.CompanyID, org.CompanyID)
	}
	return nil
}

// Unresolve removes a user's resolution (R-CONF-6): the user goes back to
// matching at the next run. A link made by a "link" resolution is dropped
// with it; a contact made by a "create" resolution stays linked, since it
// exists. ErrNotFound if the user has no resolution.
func (s *Syncer) Unresolve(ctx context.Context, orgID, userID string) error {
	h := s.opts.History
	rs, err := h.Resolutions(ctx, orgID)
	if err != nil {
		return fmt.Errorf("adsync: undo the resolution of user %s of %q: %w", userID, orgID, err)
	}
	var res *Resolution
	for i := range rs {
		if rs[i].UserID == userID {
			res = &rs[i]
		}
	}
	if res == nil {
		return fmt.Errorf("adsync: undo the resolution of user %s of %q: %w: the user has no resolution", userID, orgID, ErrNotFound)
	}
	if err := h.DeleteResolution(ctx, orgID, userID); err != nil {
		return fmt.Errorf("adsync: undo the resolution of user %s of %q: %w", userID, orgID, err)
	}
	if res.Action == ResolveLink {
		links, err := h.Links(ctx, orgID)
		if err != nil {
			return fmt.Errorf("adsync: undo the resolution of user %s of %q: load links: %w", userID, orgID, err)
		}
		for _, l := range links {
			if l.UserID == userID && l.ContactID == res.ContactID && !l.Created {
				if err := h.DeleteLinks(ctx, orgID, []string{userID}); err != nil {
					return fmt.Errorf("adsync: undo the resolution of user %s of %q: drop its link: %w", userID, orgID, err)
				}
			}
		}
	}
	return nil
}
