// Package matcher is adsync's default Matcher: Autotask's AD Sync matching
// rules (docs/rules.md §3 and §4) for directory users that have no link yet.
//
// For each user, in this order, the first step that decides wins:
//
//   - R-CONF-1: the user's email equals the email of another in-scope user,
//     linked or not: conflict (no email or name matching, no create).
//   - R-MATCH-1 / R-MATCH-2: exactly one active contact, else exactly one
//     inactive contact, has the user's email as its primary emailAddress
//     (trimmed, case-insensitive): link, or link and reactivate.
//   - R-CONF-2: the user's name key equals another unlinked user's:
//     conflict (a single email match above still links).
//   - R-MATCH-3 / R-MATCH-4: exactly one active, else one inactive contact
//     has the user's name key: link, or link and reactivate.
//   - R-MATCH-5: create a contact.
//
// A step that finds more than one candidate is a conflict (R-CONF-3) and
// matching stops there; a single candidate linked to another user is a
// conflict too (R-CONF-4). A blank email skips the email steps and a blank
// first or last name the name steps (R-MATCH-9).
//
// The name key is the normalized first name, the normalized last name and
// the first character of the normalized middle (LDAP initials against the
// contact's middleInitial, R-MATCH-7): a middle blank on one side only
// never matches. The same key decides duplicate names (R-CONF-2), so "John
// A. Smith" and "John Smith" are different names, and "John Adam Smith"
// and "John Albert Smith" the same. Normalize is the default normalizer
// (R-MATCH-6); Options.Normalize replaces it. A name that normalizes to
// nothing (only punctuation, say) counts as blank. Since combining marks
// are dropped, scripts that write vowels as marks (Devanagari, for one)
// compare on their consonants only: a looser key, never a missed exact
// match.
//
// Within one run no two users are decided onto one contact (R-LINK-5).
// Under the rules above that can only happen when one user matches a
// contact by email and another by name; the email match wins and the other
// user gets a ConflictContactLinked whose Decision.Rule is "R-LINK-5". If
// no claimant is uniquely strongest, every claimant gets one.
//
// Decisions come back in the order of MatchInput.Users. Decision.Rule is
// the rule that decided: "R-MATCH-1".."R-MATCH-5", a conflict kind's rule
// ("R-CONF-1".."R-CONF-4"), or "R-LINK-5".
//
// Matching is O(users + contacts), with a few hundred allocations per run
// whatever its size (conflicts aside). The users' keys go into two
// open-addressing hash indexes (email, name key); each
// contact and each linked user is then looked up once per key, and only
// contacts under a key some user has are kept, so a daily run with few new
// users stays cheap however large the company. Keys are computed on all
// cores (a custom Options.Normalize must therefore be safe for concurrent
// use), and lookups go in batches so that their cache misses overlap.
// BENCHMARKS.md has the figures.
package matcher
