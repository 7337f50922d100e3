// Package adsync syncs contacts one way, from a customer's directory into
// Autotask PSA, the way Autotask's own AD Sync does, and further.
//
// An MSP keeps its customers' people as contacts in Autotask. For each
// organization (one Autotask company), adsync reads the in-scope users of
// the customer's directory, Entra ID through Microsoft Graph (package
// source/graph) or Active Directory over LDAPS (package source/ldap), and
// creates, links, updates, reactivates and deactivates the company's
// contacts through the Autotask REST API (package autotask). Nothing is
// ever written to the directory, and no contact is ever deleted.
//
// # Plug points
//
// The root package holds the domain types, four small interfaces and the
// concrete Syncer that composes them:
//
//   - DirectorySource reads the users (optional: IncrementalSource).
//   - ContactStore reads and writes the contacts (optional: CountryLister,
//     BillingProductAssigner, ContactGetter).
//   - Matcher decides for users without a link: Autotask's rules are in
//     package matcher; MatcherFunc adapts a function.
//   - HistoryStore keeps runs with their change logs, links, conflicts and
//     resolutions, the contacts exempt from deactivation and the state of
//     alerts, and holds the per-organization lock (RunStore, LinkStore,
//     ChangeStore, ConflictStore, ExemptionStore, NoticeStore, Locker): in
//     memory (package history), SQLite (history/sqlite) or PostgreSQL
//     (history/postgres).
//   - Observer receives the events of the runs (Options.Observer): alerts
//     (package notify) and Prometheus metrics (package metrics) are built
//     on it.
//
// The field rules (which fields are written, blank values never overwrite,
// truncation, countries) are a FieldPolicy; package merge has Autotask's.
// Each interface has an in-memory implementation and an importable
// conformance suite: source/sourcetest, contacts/contactstest,
// history/historytest.
//
// # One run
//
// Syncer.Sync records the attempt, checks both ends, reads the directory
// (pages of at most 500, capped by OrgConfig.MaxUsers) and the company's
// contacts, then plans without I/O: linked users get a field diff, unlinked
// users go through the Matcher, links whose user left scope are deactivated
// unless the guard holds them. Syncer.Plan stops there: a dry run whose Plan
// prints as a readable diff. Applying writes in batches of at most 500 with
// at most 3 writes in flight; a create is journaled before it is sent, so a
// run killed at any point is reconciled by the next one and never
// duplicates a contact. A failed write for one contact is recorded and
// retried by the next run. The run record keeps counts, warnings and the
// connection status; the history keeps the newest 10 runs per organization.
//
// Scheduler runs many organizations on one Syncer, each every 24 hours from
// the start of its last attempt, with forced runs and graceful stops.
//
// The rule ids cited in the documentation (R-MATCH-1, R-DEACT-4, …) are
// those of the project's sync rules, docs/rules.md.
package adsync
