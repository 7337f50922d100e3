// Package console is adsync's admin web console: an http.Handler built from
// a Syncer and its organizations, mountable in a host's own server the way
// net/http/pprof is, and served by `adsync serve`.
//
// Its pages follow Autotask's own AD Sync pages: the list of organizations
// with their status (R-STATUS-1), one organization with its configuration,
// runs and actions (preview, sync now, approve held deactivations), a run
// with its change log (paged, filtered by kind) and its undo, every change
// to one contact or of one user across the kept runs, and its conflicts
// with their resolutions (R-CONF-6). Every action goes through the same
// Syncer calls as the CLI, with the signed-in administrator's name as the
// actor (adsync.WithActor), so the history records who started each run
// and made each resolution.
//
// Pages are rendered on the server with html/template and work without
// JavaScript; a small script only refreshes a page while a run is going on.
//
// Security: every page but the sign-in page needs a session (a local admin
// password, or OpenID Connect sign-in against Entra ID), unless the host
// explicitly turns authentication off, which CheckListen allows on a
// loopback address only. Every state-changing request is a POST carrying the
// session's CSRF token; responses carry a strict Content-Security-Policy,
// frame denial and no-store; sign-in attempts are rate limited. Secrets
// (the password, the OIDC client secret) never appear in a page, an error
// or a log line.
//
// Mounting:
//
//	c, err := console.New(console.Options{Syncer: s, Orgs: console.StaticOrgs(orgs),
//		Prefix: "/console", Auth: console.Auth{PasswordHash: hash}})
//	mux.Handle("/console/", c)
//
// A host serving its own handlers beside the console (its /metrics) can
// require a console session for them with RequireSignIn.
package console
