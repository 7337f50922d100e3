package adsync

import "context"

// MatchInput is what a Matcher decides on.
type MatchInput struct {
	// Users are the in-scope users without a link and without a resolution:
	// the users to decide for.
	Users []*User
	// Linked are the in-scope users that already have a link. They are not
	// matched again (R-LINK-2), but their emails count for duplicate
	// detection (R-CONF-1).
	Linked []*User
	// Contacts are every contact of the organization's company (R-SCOPE-6),
	// active and inactive.
	Contacts []*Contact
	// LinkedTo returns the user a contact is linked to, if any (R-CONF-4).
	LinkedTo func(contactID int64) (userID string, ok bool)
	// EmailFromUPN: a user with a blank email is matched by its UPN
	// (R-MATCH-8). The Syncer has already applied it to Values[Email].
	EmailFromUPN bool
}

// Action is what a Matcher decided for a user.
type Action uint8

// The matcher's actions.
const (
	// ActionCreate: no contact matches; create one (R-MATCH-5).
	ActionCreate Action = iota + 1
	// ActionLink: link to an active contact (R-MATCH-1, R-MATCH-3).
	ActionLink
	// ActionLinkReactivate: link to an inactive contact and reactivate it
	// (R-MATCH-2, R-MATCH-4).
	ActionLinkReactivate
	// ActionConflict: matching failed; nothing is written (R-CONF-*).
	ActionConflict
)

// String returns the action's name, e.g. "link-reactivate".
func (a Action) String() string {
	switch a {
	case ActionCreate:
		return "create"
	case ActionLink:
		return "link"
	case ActionLinkReactivate:
		return "link-reactivate"
	case ActionConflict:
		return "conflict"
	}
	return "invalid"
}

// Decision is a Matcher's answer for one user.
type Decision struct {
	UserID string
	Action Action
	// ContactID is the contact to link, for ActionLink and
	// ActionLinkReactivate.
	ContactID int64
	// Rule is the id of the rule that decided, e.g. "R-MATCH-1".
	Rule string
	// Conflict describes the conflict, for ActionConflict. Its OrgID and
	// times are filled in by the Syncer.
	Conflict *Conflict
}

// Matcher decides, for users without a link, whether to link them to an
// existing contact, create a contact, or report a conflict (docs/rules.md §3
// and §4). The default, Autotask's own rules, is matcher.New; MatcherFunc
// adapts a function.
//
// Match must be pure: no I/O, no writes. It returns exactly one Decision per
// user of in.Users, in any order. The Syncer checks the decisions: a
// decision naming a contact outside in.Contacts is an error, and one naming
// a contact that is linked or claimed by another decision of the same run
// becomes a ConflictContactLinked (R-LINK-5).
type Matcher interface {
	Match(ctx context.Context, in MatchInput) ([]Decision, error)
}

// MatcherFunc adapts an ordinary function to the Matcher interface.
type MatcherFunc func(ctx context.Context, in MatchInput) ([]Decision, error)

// Match calls f(ctx, in).
func (f MatcherFunc) Match(ctx context.Context, in MatchInput) ([]Decision, error) {
	return f(ctx, in)
}

// FieldRules turn directory values into contact writes for one run
// (docs/rules.md §5). They are pure.
type FieldRules interface {
	// Update returns the partial update that brings contact c in line with
	// user u: only selected fields, only non-blank directory values
	// (R-FIELD-1, R-FIELD-2), only values that differ (R-FIELD-3), cut to
	// Autotask's maximum length (R-FIELD-4). The update's Active is left
	// nil: activation is the Syncer's business.
	Update(u *User, c *Contact) (ContactUpdate, []Warning)
	// Create returns the values of a new contact for u. It returns an error
	// (the skip reason) when the contact cannot be created, e.g. a blank
	// first or last name (R-FIELD-5).
	Create(u *User) (Values, []Warning, error)
}

// FieldParams configure the field rules of one run.
type FieldParams struct {
	// Selected are the fields the organization writes; first name, last
	// name and email are always included (R-FIELD-2).
	Selected FieldSet
	// Countries is the store's country list (R-FIELD-6); nil when the store
	// has none, and the CountryID field is then never written.
	Countries []Country
}

// FieldPolicy builds the FieldRules of one run. The default is merge.New.
type FieldPolicy func(p FieldParams) (FieldRules, error)
