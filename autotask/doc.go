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
// Errors have the shape of the directory sources' (ldap.Error,
// graph.Error): what failed (an op), the adsync sentinel it stands for (a
// kind: ErrUnauthorized, ErrNotFound, ErrRateLimited, ErrValidation,
// ErrUnavailable, ErrTLS, ErrBudgetExhausted, ErrOutcomeUnknown) and the
// cause, errors.Is finding both. An answer of Autotask's is an *APIError,
// the budget's stop a *BudgetError, anything else an *Error. Each message
// starts with "autotask: " once and names the setting, contact, field or
// host to fix: a zone lookup or API host that cannot be resolved, refuses
// the connection or does not answer is named as such. Retries are logged
// (attribute err) with the delay before the next attempt. The secret
// (an adsync.Secret) never appears in errors, logs or the printed
// configuration.
//
// Package autotasktest has an in-process emulator of the API for tests.
package autotask
