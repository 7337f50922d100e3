package adsync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Implementations of the plug points wrap these (with %w or
// an Is method) so that the Syncer and callers can classify failures with
// errors.Is, whatever the backend.
var (
	// ErrNotFound: the thing asked for does not exist (a contact, a run, a
	// company, a group, a base DN).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: credentials were refused. Systemic: it stops a run.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrRateLimited: the service throttled the call past the retries.
	// Systemic: it stops a run.
	ErrRateLimited = errors.New("rate limited")
	// ErrBudgetExhausted: the configured share of Autotask's hourly request
	// budget is used up; the run stops rather than push the MSP's database
	// over the limit. Systemic.
	ErrBudgetExhausted = errors.New("API request budget exhausted")
	// ErrUnavailable: the service cannot be reached or answered with a
	// server error past the retries. Systemic.
	ErrUnavailable = errors.New("service unavailable")
	// ErrValidation: the service refused the values of one write (Autotask
	// answers these with HTTP 500 and an errors list). Not systemic: the
	// write is recorded as failed and the run goes on (R-RUN-6).
	ErrValidation = errors.New("validation failed")
	// ErrTLS: the TLS handshake with the server failed (untrusted
	// certificate, host name mismatch, expired).
	ErrTLS = errors.New("TLS failure")
	// ErrInvalidConfig: a configuration is invalid; see ConfigError.
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrOrgDisabled: the organization is disabled; it is never run and
	// forcing it is refused (R-RUN-2).
	ErrOrgDisabled = errors.New("organization is disabled")
	// ErrRunInProgress: a run of the organization is already going on, in
	// this process or in another sharing the store (R-RUN-5).
	ErrRunInProgress = errors.New("a run of this organization is in progress")
	// ErrUserCap: the directory returned more users than the organization's
	// cap; see CapError (R-SCOPE-7).
	ErrUserCap = errors.New("user cap exceeded")
	// ErrIncompleteRead: the directory read did not complete, so nothing is
	// deactivated and the run fails (R-DEACT-3).
	ErrIncompleteRead = errors.New("directory read incomplete")
	// ErrIncompleteContacts: the contacts read of a company left out
	// contacts that exist (a restricted API security level can do this
	// without an error), so the run fails before writing anything
	// (R-DEACT-5).
	ErrIncompleteContacts = errors.New("contacts read incomplete")
	// ErrNothingHeld: an approval named a run that has no held deactivations.
	ErrNothingHeld = errors.New("run has no held deactivations")
	// ErrCursorExpired: an incremental read's cursor is no longer valid; the
	// caller falls back to a full read.
	ErrCursorExpired = errors.New("incremental cursor expired")
	// ErrStalePlan: Apply was given a plan made before the last run of its
	// organization, or one already applied; applying it could create a
	// contact twice (R-RUN-7). Plan again.
	ErrStalePlan = errors.New("plan is stale")
	// ErrRefused: an admin operation was refused; the wrapping error says
	// why (R-CONF-6).
	ErrRefused = errors.New("refused")
	// ErrOutcomeUnknown: a write was sent but whether it took effect is not
	// known (its answer was lost or cut short, it timed out, or a create was
	// answered without an id) and a look-up could not settle it. A store
	// returns it rather than send the write again (R-RUN-7); the Syncer
	// keeps a create's journal entry so that a later run finds the contact
	// if it was made, and never re-sends that create in the same run. Not
	// systemic by itself.
	ErrOutcomeUnknown = errors.New("outcome of the write is unknown")
	// ErrLockLost: the organization's lock can no longer be shown to be
	// held (its connection broke, its lease ran out). The run stops writing
	// at once: another process may hold the organization now (R-RUN-5).
	// Systemic.
	ErrLockLost = errors.New("organization lock lost")
)

// IsSystemic reports whether err should stop a whole run rather than fail a
// single contact (R-RUN-6): refused credentials, throttling or budget
// exhaustion, an unavailable service, or a cancelled context.
func IsSystemic(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrRateLimited) ||
		errors.Is(err, ErrBudgetExhausted) || errors.Is(err, ErrUnavailable) ||
		errors.Is(err, ErrTLS) || errors.Is(err, ErrLockLost) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// ConfigError reports an invalid configuration value. Field names the
// setting relative to the configuration given to the function that
// reports it: a package's Config field by its JSON name ("secret",
// "budgetStop" from autotask.Config.Validate), a field of the Options given
// to NewSyncer ("Options.Store"), or a path in the configuration file the
// config package loads ("orgs[2].guard.percent"). Whoever nests a
// configuration in its own prefixes the path; none is stripped.
type ConfigError struct {
	Field   string
	Problem string
}

// Error says which setting is wrong and why.
func (e *ConfigError) Error() string {
	return "invalid configuration: " + e.Field + ": " + e.Problem
}

// Is makes errors.Is(err, ErrInvalidConfig) hold.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// CapError reports more in-scope users than the organization's cap (R-SCOPE-7).
type CapError struct {
	OrgID string
	Count int // users read before the read was stopped: at least Limit+1
	Limit int
}

// Error names the count, the limit and the fix.
func (e *CapError) Error() string {
	return fmt.Sprintf("organization %q: the directory returned more than %d users (at least %d); raise maxUsers or narrow the scope",
		e.OrgID, e.Limit, e.Count)
}

// Is makes errors.Is(err, ErrUserCap) hold.
func (e *CapError) Is(target error) bool { return target == ErrUserCap }

// ContactError is a failure of one contact write, wrapped once with the user
// and contact it concerns (R-RUN-6).
type ContactError struct {
	Op        ChangeKind // the write that failed
	UserID    string
	User      string // display label
	ContactID int64  // 0 for a create
	Err       error
}

// Error names the write, the contact and the user.
func (e *ContactError) Error() string {
	s := string(e.Op) + " contact"
	if e.ContactID != 0 {
		s += " " + strconv.FormatInt(e.ContactID, 10)
	}
	who := e.User
	if who == "" {
		who = e.UserID
	}
	return s + " for user " + who + ": " + e.Err.Error()
}

// Unwrap returns the store's error.
func (e *ContactError) Unwrap() error { return e.Err }
