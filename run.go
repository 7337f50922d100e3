package adsync

import (
	"fmt"
	"log/slog"
	"time"
)

// RunStatus is the outcome of a run (R-RUN-4).
type RunStatus string

// The run statuses.
const (
	// StatusRunning: the run has started and not finished. A run found
	// running by a new process is marked interrupted (R-RUN-7).
	StatusRunning RunStatus = "running"
	// StatusSucceeded: every step completed; per-contact write failures may
	// still be counted (R-RUN-6).
	StatusSucceeded RunStatus = "succeeded"
	// StatusFailed: the run stopped on an error (Run.Error).
	StatusFailed RunStatus = "failed"
	// StatusHeld: the run was applied except for deactivations the guard
	// held (R-DEACT-4); see Run.Held.
	StatusHeld RunStatus = "held"
	// StatusInterrupted: the process running it stopped before it finished.
	StatusInterrupted RunStatus = "interrupted"
)

// Trigger says what started a run.
type Trigger string

// The triggers.
const (
	TriggerScheduled Trigger = "scheduled"
	TriggerForced    Trigger = "forced"
	// TriggerApproval: an admin approved a held run's deactivations.
	TriggerApproval Trigger = "approval"
	// TriggerUndo: an admin applied the undo of a run (Syncer.PlanUndo).
	TriggerUndo Trigger = "undo"
)

// TLSStatus is the state of a directory connection's certificate (R-STATUS-2).
type TLSStatus string

// The TLS statuses.
const (
	TLSUnknown          TLSStatus = "unknown" // never connected
	TLSOK               TLSStatus = "ok"
	TLSExpiring         TLSStatus = "expiring" // expires within 30 days
	TLSExpired          TLSStatus = "expired"
	TLSUntrusted        TLSStatus = "untrusted"
	TLSHostnameMismatch TLSStatus = "hostname-mismatch"
	TLSNotApplicable    TLSStatus = "not-applicable" // Azure
)

// ExpiringWithin is how close to its expiry a certificate is reported as
// TLSExpiring.
const ExpiringWithin = 30 * 24 * time.Hour

// TLSStatusOf classifies a verified certificate's expiry at time now: ok,
// expiring (within 30 days) or expired.
func TLSStatusOf(notAfter, now time.Time) TLSStatus {
	switch {
	case !now.Before(notAfter):
		return TLSExpired
	case notAfter.Sub(now) <= ExpiringWithin:
		return TLSExpiring
	}
	return TLSOK
}

// ConnStatus is what a Check of a source or store found.
type ConnStatus struct {
	// TLS is the certificate status (R-STATUS-2).
	TLS TLSStatus `json:"tls"`
	// CertExpiry is the server certificate's NotAfter, zero if unknown.
	CertExpiry time.Time `json:"certExpiry,omitzero"`
	// Detail is a short human description, e.g. the server and bind name.
	Detail string `json:"detail,omitempty"`
}

// Counts are the numbers a run records (R-RUN-4). Each change counts in
// exactly one of Created, Linked, Updated, Reactivated and Deactivated (see
// ChangeKind): a user newly linked to an inactive contact counts as
// reactivated (R-MATCH-2, R-MATCH-4), not as linked.
type Counts struct {
	Read      int `json:"read"`      // users read from the directory (in scope)
	Unchanged int `json:"unchanged"` // linked users whose contact needed no write
	Created   int `json:"created"`   // contacts created
	// Linked counts users newly linked to an existing active contact,
	// LinkedAsIs those of them whose contact already agreed: no write was
	// sent for them.
	Linked       int `json:"linked"`
	LinkedAsIs   int `json:"linkedAsIs,omitempty"`
	Updated      int `json:"updated"`      // contacts updated
	Reactivated  int `json:"reactivated"`  // contacts made active again, newly linked ones included
	Deactivated  int `json:"deactivated"`  // contacts made inactive
	Held         int `json:"held"`         // deactivations held by the guard
	Conflicts    int `json:"conflicts"`    // users in conflict
	Skipped      int `json:"skipped"`      // users skipped (reason in Skips)
	FailedWrites int `json:"failedWrites"` // writes that failed for one contact
}

// Writes is the number of contact writes the counts stand for: the
// changes made, but the links that sent nothing (LinkedAsIs). A create
// with a billing product makes a second call, not counted here.
func (c Counts) Writes() int {
	return c.Created + c.Updated + c.Deactivated + c.Reactivated + c.Linked - c.LinkedAsIs
}

// LogValue logs the counts as a group of named numbers.
func (c Counts) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("read", c.Read), slog.Int("created", c.Created), slog.Int("linked", c.Linked),
		slog.Int("updated", c.Updated), slog.Int("reactivated", c.Reactivated), slog.Int("deactivated", c.Deactivated),
		slog.Int("held", c.Held), slog.Int("unchanged", c.Unchanged), slog.Int("conflicts", c.Conflicts),
		slog.Int("skipped", c.Skipped), slog.Int("failed_writes", c.FailedWrites), slog.Int("writes", c.Writes()))
}

// String summarizes the counts on one line.
func (c Counts) String() string {
	return fmt.Sprintf("read %d, created %d, linked %d, updated %d, reactivated %d, deactivated %d, held %d, unchanged %d, conflicts %d, skipped %d, failed writes %d",
		c.Read, c.Created, c.Linked, c.Updated, c.Reactivated, c.Deactivated, c.Held, c.Unchanged, c.Conflicts, c.Skipped, c.FailedWrites)
}

// Warning is a non-fatal finding of a run, such as a value cut to Autotask's
// maximum length (R-FIELD-4) or an unknown country (R-FIELD-6).
type Warning struct {
	UserID  string `json:"userId,omitempty"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// String formats the warning as "rule: message (user id)".
func (w Warning) String() string {
	s := w.Rule + ": " + w.Message
	if w.UserID != "" {
		s += " (user " + w.UserID + ")"
	}
	return s
}

// Skip is a user the run could not act on, with the reason (R-FIELD-5).
type Skip struct {
	UserID string `json:"userId"`
	User   string `json:"user"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// WriteFailure is a write that failed for one contact (R-RUN-6). It is
// retried by the next run.
type WriteFailure struct {
	UserID    string     `json:"userId"`
	ContactID int64      `json:"contactId,omitempty"`
	Kind      ChangeKind `json:"kind"`
	Error     string     `json:"error"`
}

// HeldDeactivation is a deactivation the guard held (R-DEACT-4).
type HeldDeactivation struct {
	UserID    string `json:"userId"`
	ContactID int64  `json:"contactId"`
	Contact   string `json:"contact"`
}

// MaxRunDetails bounds each of a run's lists (warnings, skips, failures) so
// that a pathological run cannot bloat the history; the counts stay exact.
const MaxRunDetails = 1000

// Run is the record of one attempt to sync an organization (R-RUN-4).
type Run struct {
	// ID is assigned by the HistoryStore when the run is started; ids grow
	// with time within a store.
	ID      int64     `json:"id"`
	OrgID   string    `json:"orgId"`
	Trigger Trigger   `json:"trigger"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"` // zero while running
	Status  RunStatus `json:"status"`
	// Error is the reason a run failed, safe to show (no secrets).
	Error    string         `json:"error,omitempty"`
	Counts   Counts         `json:"counts"`
	Warnings []Warning      `json:"warnings,omitempty"`
	Skips    []Skip         `json:"skips,omitempty"`
	Failures []WriteFailure `json:"failures,omitempty"`
	// Held lists the held deactivations of a held run (R-DEACT-4).
	Held []HeldDeactivation `json:"held,omitempty"`
	// APICalls is the number of Autotask API calls the run made, as the
	// store counted them with CountAPICall.
	APICalls int64 `json:"apiCalls"`
	// TLS is the directory connection status seen by the run (R-STATUS-2).
	TLS TLSStatus `json:"tls,omitempty"`
	// FullRead is true when the directory was read in full (not
	// incrementally); Cursor is the incremental-read cursor after the run.
	FullRead bool   `json:"fullRead"`
	Cursor   string `json:"cursor,omitempty"`
	// ApprovedRun is, for an approval run, the id of the held run it approved.
	ApprovedRun int64 `json:"approvedRun,omitempty"`
	// UndoneRun is, for an undo run, the id of the run it undid.
	UndoneRun int64 `json:"undoneRun,omitempty"`
	// By names who started the run (WithActor): an admin of the console, a
	// CLI user. Empty for the scheduler.
	By string `json:"by,omitempty"`
}

// boundTexts cuts each text of the record to maxRecordText bytes, so that
// huge directory values (a 1 MB display name) cannot bloat the history
// (R-RUN-4); the lists are bounded by MaxRunDetails.
func (r *Run) boundTexts() {
	r.Error = cutText(r.Error, 4*maxRecordText)
	for i := range r.Warnings {
		w := &r.Warnings[i]
		w.Message = cutText(w.Message, maxRecordText)
	}
	for i := range r.Skips {
		s := &r.Skips[i]
		s.User, s.Reason = cutText(s.User, maxRecordText), cutText(s.Reason, maxRecordText)
	}
	for i := range r.Failures {
		f := &r.Failures[i]
		f.Error = cutText(f.Error, maxRecordText)
	}
	for i := range r.Held {
		h := &r.Held[i]
		h.Contact = cutText(h.Contact, maxRecordText)
	}
}

// Duration is the run's wall time, or 0 while running.
func (r *Run) Duration() time.Duration {
	if r.Ended.IsZero() {
		return 0
	}
	return r.Ended.Sub(r.Started)
}

// Done reports whether the run has finished, whatever its outcome.
func (r *Run) Done() bool { return r.Status != StatusRunning && r.Status != "" }
