// Package merge holds adsync's default field rules (docs/rules.md §5): how
// a directory user's values become a new contact or a partial update of its
// linked contact.
//
//   - R-FIELD-1: a value blank or whitespace-only in the directory never
//     overwrites Autotask. Values are trimmed.
//   - R-FIELD-2: only the selected fields are written; first name, last
//     name and email are always selected.
//   - R-FIELD-3: an update holds only the fields whose value differs from
//     the contact's, both sides trimmed; a user whose fields all equal the
//     contact's gives an empty update.
//   - R-FIELD-4: a value longer than Autotask's maximum is cut at a rune
//     boundary (and trimmed again) and a warning says so. An update warns
//     only when it writes the cut value, so a contact that already holds
//     it does not warn again on every run.
//   - R-FIELD-5: Create refuses a user with a blank first or last name,
//     with an error wrapping ErrMissingName.
//   - R-FIELD-6: the directory's country, an ISO 3166 alpha-2 code or a
//     country name (compared ignoring case, diacritics, spaces and
//     punctuation), becomes Autotask's countryID. An unknown country leaves
//     the field alone and warns, on every run until it is fixed. Without a
//     country list (FieldParams.Countries empty) the country is never
//     written and these rules do not warn: the Syncer warns once per run
//     instead.
//
// New is an adsync.FieldPolicy. Its rules are pure and safe for concurrent
// use. Update, called for every linked user of a run, allocates nothing
// when the contact is up to date.
package merge
