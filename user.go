package adsync

import (
	"strconv"
	"time"
)

// MaxUserIDLen bounds a user's directory id: a user with a longer one is
// ignored with a warning (R-LINK-1). LDAP objectGUIDs and Graph ids are 36
// bytes; every history store can key a link by an id this long.
const MaxUserIDLen = 1024

// User is one directory user as a DirectorySource delivers it: an immutable
// id, whether the account is enabled, and the directory values already mapped
// onto Autotask's contact fields.
type User struct {
	// ID is the user's immutable directory id: LDAP objectGUID in its
	// canonical string form, or the Graph user id (R-LINK-1). Never empty.
	ID string
	// Enabled is false for a disabled account (LDAP userAccountControl bit
	// 0x2, Graph accountEnabled=false). Disabled users are out of scope
	// unless the organization includes them (R-SCOPE-8).
	Enabled bool
	// UPN is the userPrincipalName. It is the email for matching only when
	// mail is blank and the organization enables it (R-MATCH-8).
	UPN string
	// Name is a display name for messages and plans, e.g. the LDAP cn or the
	// Graph displayName. Optional.
	Name string
	// Values are the directory's values by Autotask field. CountryID holds an
	// ISO 3166 alpha-2 code or a country name (R-FIELD-6).
	Values Values
	// Anchor is, for an Entra ID user synced from Active Directory, its AD
	// objectGUID in the form source/ldap gives as ID (from
	// onPremisesImmutableId, AnchorFromImmutableID); "" otherwise. It
	// carries links across a move between the two directories (R-LINK-6).
	Anchor string
}

// Label returns a short human description of the user for messages:
// "Name <email> (id)", at most 512 bytes whatever the directory holds.
func (u *User) Label() string {
	return cutText(u.label(), 2*maxLabel)
}

func (u *User) label() string {
	name := u.Name
	if name == "" {
		name = joinNonBlank(u.Values[FirstName], u.Values[LastName])
	}
	email := u.Values[Email]
	if email == "" {
		email = u.UPN
	}
	s := name
	if email != "" {
		s = joinNonBlank(s, "<"+email+">")
	}
	return joinNonBlank(s, "("+u.ID+")")
}

func joinNonBlank(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

// Contact is one Autotask contact as a ContactStore delivers it.
type Contact struct {
	// ID is Autotask's contact id. Ids grow as contacts are created.
	ID int64
	// CompanyID is the id of the company (organization) the contact is under.
	CompanyID int64
	// Active is Autotask's isActive.
	Active bool
	// Exempt: the contact must never be deactivated by the sync
	// (R-DEACT-9), as a user-defined field of the contact says. A store
	// that reads such a field sets it with the contacts (the autotask
	// client does when its ExemptUDF names one); exemptions kept in the
	// history (Syncer.Exempt) need no store support.
	Exempt bool
	// Values are the contact's field values; CountryID is the countryID as a
	// decimal string, "" when unset.
	Values Values
	// LastModified is Autotask's lastModifiedDate.
	LastModified time.Time
}

// Label returns a short human description of the contact for messages, at
// most 512 bytes.
func (c *Contact) Label() string {
	return cutText(c.label(), 2*maxLabel)
}

func (c *Contact) label() string {
	s := joinNonBlank(c.Values[FirstName], c.Values[LastName])
	if e := c.Values[Email]; e != "" {
		s = joinNonBlank(s, "<"+e+">")
	}
	return joinNonBlank(s, "(contact "+strconv.FormatInt(c.ID, 10)+")")
}

// NewContact is a contact to create.
type NewContact struct {
	// CompanyID is the company the contact is created under.
	CompanyID int64
	// Values are the values to write; blank values are not sent. FirstName
	// and LastName are never blank (R-FIELD-5).
	Values Values
}

// ContactUpdate is a partial update of one contact: only the fields in Set,
// and isActive when Active is non-nil, are sent (R-FIELD-3).
type ContactUpdate struct {
	// ContactID and CompanyID identify the contact.
	ContactID int64
	CompanyID int64
	// Fields lists the fields to write, with their new values in Values.
	Fields FieldSet
	Values Values
	// Active, when non-nil, sets isActive.
	Active *bool
}

// Empty reports whether the update writes nothing.
func (u *ContactUpdate) Empty() bool { return u.Fields == 0 && u.Active == nil }

// Country is one entry of Autotask's country list.
type Country struct {
	// ID is Autotask's countryID.
	ID int64
	// Code is the ISO 3166-1 alpha-2 code, upper case, e.g. "DE".
	Code string
	// Name is the display name, e.g. "Germany".
	Name string
}
