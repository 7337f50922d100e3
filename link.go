package adsync

import (
	"encoding/json"
	"time"
)

// Link pairs a directory user with the Autotask contact the sync matched or
// created for it (R-LINK-1). Links are keyed by (OrgID, UserID); a contact is
// linked to at most one user of an organization (R-LINK-5).
//
// A link with Pending set is a create journal entry (R-RUN-7): it is saved
// before the contact is created, and replaced by a full link once the create
// returned an id. A pending link found by a later run is reconciled against
// the contacts Autotask has, never blindly created again.
type Link struct {
	OrgID     string `json:"orgId"`
	UserID    string `json:"userId"`
	ContactID int64  `json:"contactId,omitempty"` // 0 while Pending
	// Created is true when this sync created the contact (R-FIELD-7).
	Created bool `json:"created"`
	// Pending marks a create that was journaled but not confirmed.
	Pending bool `json:"pending,omitempty"`
	// Active is false once the sync deactivated the contact because the
	// user left scope (R-DEACT-1), true otherwise. It counts the active
	// linked users of an organization's status (R-STATUS-1).
	Active bool `json:"active"`
	// After is, for a pending create, the highest contact id the run had
	// seen in the company before the create: the created contact's id is
	// greater.
	After int64 `json:"after,omitempty"`
	// Written holds the values of the fields the sync last wrote to the
	// contact (for a pending create: the values it is about to send).
	Written map[Field]string `json:"written,omitempty"`
	// LinkedAt is when the link was made; SyncedAt when the sync last wrote
	// to or confirmed the contact.
	LinkedAt time.Time `json:"linkedAt,omitzero"`
	SyncedAt time.Time `json:"syncedAt,omitzero"`
	// MissingSince is when a full read first missed the user (out of scope),
	// zero while the user is in scope. With a grace period
	// (OrgConfig.DeactivateAfter, R-DEACT-7) the contact is deactivated
	// only once the user has been missing that long; the time is kept here
	// so that it survives restarts and is shared by replicas.
	MissingSince time.Time `json:"missingSince,omitzero"`
	// Anchor is the user's Active Directory objectGUID when the link was
	// made from Entra ID for a user synced from AD (User.Anchor): a move
	// back to AD carries the link to the LDAP user of that id (R-LINK-6).
	Anchor string `json:"anchor,omitempty"`
}

// ConflictKind says why matching could not decide for a user (R-CONF-1..4).
type ConflictKind string

// The conflict kinds.
const (
	// ConflictDuplicateEmail: the user's email equals another in-scope
	// user's (R-CONF-1).
	ConflictDuplicateEmail ConflictKind = "duplicate-email"
	// ConflictDuplicateName: the user's normalized full name equals another
	// unlinked in-scope user's (R-CONF-2).
	ConflictDuplicateName ConflictKind = "duplicate-name"
	// ConflictMultipleContacts: a matching step found more than one contact
	// (R-CONF-3).
	ConflictMultipleContacts ConflictKind = "multiple-contacts"
	// ConflictContactLinked: the single candidate is linked to another user
	// (R-CONF-4).
	ConflictContactLinked ConflictKind = "contact-linked"
)

// Rule returns the sync rule id of the conflict kind, e.g. "R-CONF-1".
func (k ConflictKind) Rule() string {
	switch k {
	case ConflictDuplicateEmail:
		return "R-CONF-1"
	case ConflictDuplicateName:
		return "R-CONF-2"
	case ConflictMultipleContacts:
		return "R-CONF-3"
	case ConflictContactLinked:
		return "R-CONF-4"
	}
	return ""
}

// Valid reports whether k is one of the defined kinds.
func (k ConflictKind) Valid() bool { return k.Rule() != "" }

// Conflict records a user for whom matching failed; nothing is written for
// that user while it stands (R-CONF-*). Conflicts are recomputed by every
// run; one that no longer applies clears itself (R-CONF-5).
type Conflict struct {
	OrgID  string `json:"orgId"`
	UserID string `json:"userId"`
	// User is a display label of the user ("Name <email>").
	User string       `json:"user"`
	Kind ConflictKind `json:"kind"`
	// OtherUsers are the other users' ids (R-CONF-1, R-CONF-2, R-CONF-4).
	OtherUsers []string `json:"otherUsers,omitempty"`
	// Candidates are the candidate contacts' ids (R-CONF-3, R-CONF-4).
	Candidates []int64 `json:"candidates,omitempty"`
	// Detail explains the conflict for an admin.
	Detail    string    `json:"detail,omitempty"`
	FirstSeen time.Time `json:"firstSeen,omitzero"`
	LastSeen  time.Time `json:"lastSeen,omitzero"`
}

// MarshalJSON adds the conflict's rule id ("rule": "R-CONF-1") to its
// fields, so that every JSON output names the rule, as the text does.
func (c Conflict) MarshalJSON() ([]byte, error) {
	type plain Conflict // without the method
	return json.Marshal(struct {
		plain
		Rule string `json:"rule,omitempty"`
	}{plain(c), c.Kind.Rule()})
}

// ResolutionAction is what an admin decided for a conflicting user (R-CONF-6).
type ResolutionAction string

// The resolution actions.
const (
	// ResolveLink maps the user to a given contact, overriding matching;
	// a user already linked to another contact is moved to it (the old
	// contact is left as it is).
	ResolveLink ResolutionAction = "link"
	// ResolveCreate creates a new contact for the user.
	ResolveCreate ResolutionAction = "create"
	// ResolveIgnore excludes the user until the resolution is removed.
	ResolveIgnore ResolutionAction = "ignore"
)

// Valid reports whether a is one of the defined actions.
func (a ResolutionAction) Valid() bool {
	return a == ResolveLink || a == ResolveCreate || a == ResolveIgnore
}

// Resolution is an admin's decision for one user, persisted and honoured by
// later runs (R-CONF-6).
type Resolution struct {
	OrgID  string           `json:"orgId"`
	UserID string           `json:"userId"`
	Action ResolutionAction `json:"action"`
	// ContactID is the contact to link to, for ResolveLink.
	ContactID int64 `json:"contactId,omitempty"`
	// By names who resolved it, free text.
	By        string    `json:"by,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
}
