package adsync

import "context"

// ContactStore is the Autotask side: the contacts of one company, created
// and updated, never deleted (R-DEACT-1).
//
// The implementation for the Autotask REST API is in autotask/; contacts/
// has an in-memory one with fault injection, and contacts/contactstest the
// conformance suite every implementation must pass, which checks the rules
// stated here and on the optional capabilities below, and nothing else.
//
// Rules for every method:
//   - Methods may be called concurrently: concurrent creates all land, each
//     with its own id. The Syncer bounds its own write concurrency
//     (Autotask allows 3 requests in flight per endpoint).
//   - Every method honours ctx: called with a cancelled context it returns
//     an error wrapping ctx's error (context.Canceled) and writes nothing.
//   - Every request sent on behalf of ctx is counted with
//     CountAPICall(ctx), retries and look-ups included (R-RUN-4).
//   - A value written is read back unchanged, up to the field's
//     Field.MaxLen in runes (not bytes).
//   - Contact.LastModified is the time of the contact's last change, never
//     zero: an Update moves it forward.
type ContactStore interface {
	// Contacts reads every contact of the company, active and inactive, and
	// no other company's (R-SCOPE-6), in ascending id order across the
	// whole read, each once, calling page with 1 to MaxPageSize contacts at
	// a time, sequentially. fields are the fields the caller needs; a store
	// may return more. It returns nil only when the whole read completed: a
	// read cut short, by ctx among others, returns an error (R-DEACT-3). If
	// the company does not exist it returns an error wrapping ErrNotFound
	// without calling page. If page returns an error, Contacts stops at
	// once and returns an error that errors.Is finds it in. The slice passed
	// to page may be reused after page returns.
	Contacts(ctx context.Context, companyID int64, fields FieldSet, page func([]Contact) error) error

	// Create creates a contact under c.CompanyID, active, with the
	// non-blank values of c.Values (R-FIELD-1: a value that is empty or
	// whitespace only is not written), and returns its id (> 0).
	//
	// It refuses, with an error wrapping ErrValidation whose message names
	// the field, and writing nothing: a blank FirstName or LastName
	// (R-FIELD-5), and a value longer than its Field.MaxLen (R-FIELD-4).
	// Under a company that does not exist it fails and creates nothing.
	//
	// A store must not create the contact twice for one call: a create
	// whose answer was lost, cut short or timed out is looked up, never
	// re-sent blindly; when the look-up cannot show it, Create returns an
	// error wrapping ErrOutcomeUnknown (R-RUN-7). Any other error means the
	// contact was not created: ErrValidation when the values are refused,
	// or a systemic error (ErrUnauthorized, ErrRateLimited, ...) for a
	// request the server did not act on. An error wrapping ctx.Err() after
	// the request was sent counts as unknown too.
	Create(ctx context.Context, c NewContact) (id int64, err error)

	// Update applies u: only the fields in u.Fields, and isActive only
	// when u.Active is set; other fields are left as they are (R-FIELD-3).
	// It returns an error wrapping ErrNotFound, changing nothing, when the
	// contact does not exist in u.CompanyID (also when it exists in another
	// company). A value longer than its Field.MaxLen is refused as by
	// Create: ErrValidation naming the field, nothing written.
	Update(ctx context.Context, u ContactUpdate) error

	// Check tests that the API is reachable, the credentials are accepted
	// and the company exists: nil for an existing company, an error
	// wrapping ErrNotFound for a missing one.
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
	// AssignBillingProduct assigns the billing product productID (one
	// that exists) to the contact contactID.
	AssignBillingProduct(ctx context.Context, contactID, productID int64) error
}

// CountryLister is an optional capability of a ContactStore: the country
// list, to write the directory's country as a countryID (R-FIELD-6). Without
// it the CountryID field is never written, with a warning.
type CountryLister interface {
	// Countries returns Autotask's country list, not empty: each country
	// with a unique positive ID, a unique upper-case ISO 3166-1 alpha-2
	// Code and a Name. A CountryID value written is one of these ids.
	Countries(ctx context.Context) ([]Country, error)
}
