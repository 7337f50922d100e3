package adsync

import "context"

// ContactStore is the Autotask side: the contacts of one company, created
// and updated, never deleted (R-DEACT-1).
//
// The implementation for the Autotask REST API is in autotask/; contacts/
// has an in-memory one with fault injection, and contacts/contactstest the
// conformance suite every implementation must pass.
//
// Methods may be called concurrently; the Syncer bounds its own write
// concurrency (Autotask allows 3 requests in flight per endpoint).
type ContactStore interface {
	// Contacts reads every contact of the company, active and inactive, in
	// ascending id order, calling page with 1 to MaxPageSize contacts at a
	// time, sequentially. fields are the fields the caller needs; a store
	// may return more. It returns nil only when the whole read completed;
	// ErrNotFound (wrapped) if the company does not exist. If page returns
	// an error, Contacts stops and returns it.
	Contacts(ctx context.Context, companyID int64, fields FieldSet, page func([]Contact) error) error

	// Create creates a contact under c.CompanyID, active, with the non-blank
	// values of c.Values, and returns its id (> 0). A store must not create
	// the contact twice for one call: a create whose answer was lost, cut
	// short or timed out is looked up, never re-sent blindly; when the
	// look-up cannot show it, Create returns an error wrapping
	// ErrOutcomeUnknown (R-RUN-7). Any other error means the contact was
	// not created: ErrValidation when the values are refused, or a systemic
	// error (ErrUnauthorized, ErrRateLimited, ...) for a request the server
	// did not act on. An error wrapping ctx.Err() after the request was
	// sent counts as unknown too.
	Create(ctx context.Context, c NewContact) (id int64, err error)

	// Update applies u: only the fields in u.Fields and isActive when
	// u.Active is set; other fields are left as they are. ErrNotFound
	// (wrapped) when the contact does not exist in u.CompanyID.
	Update(ctx context.Context, u ContactUpdate) error

	// Check tests that the API is reachable, the credentials are accepted
	// and the company exists.
	Check(ctx context.Context, companyID int64) error
}

// ContactGetter is an optional capability of a ContactStore: reading one
// contact by id, used to check an admin's resolution (R-CONF-6). Without it
// the company's contacts are read in full.
type ContactGetter interface {
	// GetContact returns the contact, whatever its company; an error
	// wrapping ErrNotFound if it does not exist.
	GetContact(ctx context.Context, id int64) (Contact, error)
}

// BillingProductAssigner is an optional capability of a ContactStore:
// assigning a billing product to a contact the sync created (R-FIELD-7).
// Assigning a product the contact already has must succeed and change
// nothing: after a crash the Syncer may assign it again.
// The Syncer calls it right after the contact is created; with a store
// without it, new contacts get no billing product and the run warns.
type BillingProductAssigner interface {
	AssignBillingProduct(ctx context.Context, contactID, productID int64) error
}

// CountryLister is an optional capability of a ContactStore: the country
// list, to write the directory's country as a countryID (R-FIELD-6). Without
// it the CountryID field is never written, with a warning.
type CountryLister interface {
	Countries(ctx context.Context) ([]Country, error)
}

