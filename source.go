package adsync

import "context"

// MaxPageSize is the largest page a DirectorySource or ContactStore hands
// over at once (R-SCOPE-7: users are processed 500 at a time).
const MaxPageSize = 500

// DirectorySource reads the in-scope users of one organization's directory.
// It never writes to the directory (R-SCOPE-1).
//
// Implementations: source/ldap (Active Directory over LDAPS) and
// source/graph (Entra ID through Microsoft Graph); source/sourcetest has an
// in-memory one and the conformance suite every implementation must pass,
// which checks the rules stated here and nothing else.
//
// Each user is delivered as a User:
//   - ID is the user's immutable directory id (objectGUID, Entra object
//     id): never empty, unique in the directory, the same on every read and
//     after any rename or move (R-LINK-1).
//   - UPN is the userPrincipalName as written in the directory ("" when the
//     account has none).
//   - Values holds the directory's values by contact field, as written in
//     the directory (the source's field map says which attribute feeds
//     which field); a field the directory cannot hold is "".
//   - Enabled reports whether the account is enabled.
//
// Methods may be called concurrently.
type DirectorySource interface {
	// Users reads every in-scope user, and no other, and calls page with
	// them in pages of 1 to MaxPageSize users, sequentially (never with an
	// empty page: an empty scope makes no call). Each user appears once per
	// read. Disabled users are delivered too, with Enabled=false, and UPN is
	// filled: the Syncer, not the source, applies the organization's
	// IncludeDisabled (R-SCOPE-8) and EmailFromUPN (R-MATCH-8).
	//
	// Users returns nil only when the whole read completed: a read cut
	// short must return an error (R-DEACT-3). If page returns an error,
	// Users stops at once, without calling page again, and returns an error
	// that errors.Is finds it in. It honours ctx's cancellation before
	// reading and between pages at least: a cancelled read returns an error
	// wrapping ctx's error (context.Canceled), so that the Syncer can tell a
	// graceful stop from a failure. The slice passed to page may be reused
	// after page returns.
	Users(ctx context.Context, page func([]User) error) error

	// Check tests that the directory is reachable and the credentials are
	// accepted, and reports the TLS status (R-STATUS-2). On success the
	// status's TLS is one of TLSOK, TLSExpiring, TLSExpired, TLSUntrusted,
	// TLSHostnameMismatch, or TLSNotApplicable for a source whose TLS the
	// platform handles (Graph); never TLSUnknown. It returns an error
	// wrapping ErrUnauthorized, ErrTLS, ErrNotFound (base DN or group) or
	// ErrUnavailable as fits, with a message that says what to fix.
	Check(ctx context.Context) (ConnStatus, error)
}

// IncrementalSource is an optional capability of a DirectorySource: reading
// only the users changed since an earlier read (Graph delta, LDAP
// uSNChanged). The Syncer uses it when present, with a periodic full read to
// catch users who left scope (OrgConfig.FullReadEvery).
type IncrementalSource interface {
	DirectorySource
	// UsersSince reads like Users: the same pages, users, page-error and
	// ctx rules. With cursor "" it is a full read of every in-scope user.
	// Otherwise it delivers the users created or changed since the read
	// that returned cursor (users that left scope need not be reported),
	// and should deliver few others: an unchanged user delivered again is
	// harmless but costs a comparison. An account disabled since the cursor
	// is such a change, delivered with Enabled=false: the Syncer then
	// deactivates its contact at once (R-SCOPE-8) instead of at the next
	// full read.
	//
	// It returns the cursor for the next read, never "" on success. A
	// cursor that can no longer be used (expired, from another server or
	// scope, or never issued by this source) gives an error wrapping
	// ErrCursorExpired, and the caller falls back to a full read.
	UsersSince(ctx context.Context, cursor string, page func([]User) error) (next string, err error)
}
