// Package autotask is a small Autotask PSA REST client for contacts, and
// the adsync.ContactStore built on it.
//
// It writes contacts where Autotask accepts them (POST and PATCH on
// Companies/{id}/Contacts, never PUT), reads a company's contacts with the
// id cursor (maxRecords 500, id gt the last id seen), resolves the zone
// through zoneInformation (re-resolving once on a 401), keeps at most
// three requests in flight per endpoint, paces itself under the
// database's hourly request budget and stops before it is used up, and
// retries throttling and transient failures with jittered exponential
// backoff, honouring Retry-After. A create whose outcome is unknown (its
// answer lost, cut short, a 5xx the server may have sent after the write,
// or a 200 without an id) is looked up and never sent again: not found, it
// is reported as adsync.ErrOutcomeUnknown (R-RUN-7).
//
// Errors wrap the adsync sentinels (ErrUnauthorized, ErrNotFound,
// ErrRateLimited, ErrValidation, ErrUnavailable, ErrBudgetExhausted,
// ErrOutcomeUnknown) and
// name the setting, contact or field to fix. The secret never appears in
// errors, logs or the printed configuration.
//
// Package autotasktest has an in-process emulator of the API for tests.
package autotask
