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
// in-memory one and the conformance suite every implementation must pass.
//
// Methods may be called concurrently.
type DirectorySource interface {
	// Users reads every in-scope user and calls page with them, in pages of
	// 1 to MaxPageSize users, sequentially. Each user appears once per read.
	// Disabled users are delivered too, with Enabled=false, and User.UPN is
	// filled: the Syncer, not the source, applies the organization's
	// IncludeDisabled (R-SCOPE-8) and EmailFromUPN (R-MATCH-8).
	//
	// Users returns nil only when the whole read completed: a read cut
	// short must return an error (R-DEACT-3). If page returns an error,
	// Users stops and returns that error (wrapped or not). It must honour
	// ctx's cancellation between pages at least. The slice passed to page
	// may be reused after page returns.
	Users(ctx context.Context, page func([]User) error) error

	// Check tests that the directory is reachable and the credentials are
	// accepted, and reports the TLS status (R-STATUS-2). It returns an error
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
	// UsersSince reads like Users. With cursor "" it is a full read of every
	// in-scope user; otherwise it delivers only users created or changed
	// since the read that returned cursor (users that left scope need not be
	// reported). An account disabled since the cursor is such a change,
	// delivered with Enabled=false: the Syncer then deactivates its contact
	// at once (R-SCOPE-8) instead of at the next full read. It returns the cursor for
	// the next read. A cursor that can no longer be used gives an error
	// wrapping ErrCursorExpired, and the caller falls back to a full read.
	UsersSince(ctx context.Context, cursor string, page func([]User) error) (next string, err error)
}
