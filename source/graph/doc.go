// Package graph is the Entra ID directory source: it reads the user
// members of one group through Microsoft Graph with the official SDK
// (msgraph-sdk-go) and azidentity, and implements adsync.DirectorySource and
// adsync.IncrementalSource.
//
// This is the only package of the module that compiles the Graph SDK. A
// cold build of it takes minutes and several GB of memory (docs/directories.md
// §A10); it imports the SDK's groups, users and models packages only, not
// its root package, which halves that.
//
// # Reading
//
// Users reads /groups/{id}/transitiveMembers/microsoft.graph.user (or
// /members with DirectMembersOnly) with $select of the needed properties and
// $top=999, follows @odata.nextLink, and hands the users over in pages of
// at most adsync.MaxPageSize: a group of n members costs ⌈n/999⌉ Graph
// calls. The SDK builds and authenticates the requests, retries them and
// maps error answers; a page's users are decoded with encoding/json into
// plain structs, not the SDK's models, which cost ten times the CPU and
// twenty times the memory per user (BenchmarkFullRead). Properties map onto contact fields as
// in docs/rules.md §5 (businessPhones[0] is the phone, streetAddress's
// lines are the two address lines, usageLocation, else country, is the
// country), with per-field overrides in Config.Properties.
//
// # Incremental reads
//
// UsersSince keeps a users/delta link as its cursor and delivers the
// members changed since. Membership changes, also in nested groups, are
// invisible to delta, so the Syncer's periodic full read
// (adsync.OrgConfig.FullReadEvery) catches them. An expired delta token
// (410 Gone, syncStateNotFound) gives adsync.ErrCursorExpired.
//
// # Permissions and errors
//
// The app registration needs the application permissions
// GroupMember.Read.All and User.Read.All, with admin consent. With the first
// alone Graph returns members with only their id and no error; the source
// detects this and says which permission to grant. Errors are *Error values
// wrapping adsync sentinels (ErrUnauthorized, ErrNotFound for the group,
// ErrRateLimited after the retries, ErrUnavailable, ErrCursorExpired); the
// SDK's own error values, whose Error method can panic, never reach the
// caller.
//
// Throttled calls (429, 503, 504) are retried by the SDK's retry middleware,
// honouring Retry-After, at most Config.MaxRetries times and never past the
// context's cancellation.
//
// # Tests
//
// The package graphtest is an in-process Graph emulator (standard library
// only); StaticToken gives a credential for it:
//
//	srv := graphtest.NewServer()
//	src, err := graph.New(graph.Config{GroupID: gid, BaseURL: srv.GraphURL(),
//		Credential: graph.StaticToken("test")})
package graph
