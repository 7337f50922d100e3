package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is a kind of alert.
type Event string

// The events.
const (
	// EventHeld: a run was held by the guard; its deactivations await
	// approval (R-DEACT-4).
	EventHeld Event = "held"
	// EventFailed: a run failed.
	EventFailed Event = "failed"
	// EventInterrupted: a run was interrupted (the service stopped, or a
	// process died during it).
	EventInterrupted Event = "interrupted"
	// EventRecovered: the first success after a failed, held or
	// interrupted run.
	EventRecovered Event = "recovered"
	// EventConflicts: a run found users in conflict for the first time.
	EventConflicts Event = "conflicts"
	// EventTLS: the directory's certificate expires within 30 days, or
	// has expired.
	EventTLS Event = "tls"
	// EventBudget: Autotask's API budget is past the pacing threshold.
	EventBudget Event = "budget"
	// EventTest: a test message (adsync alert test).
	EventTest Event = "test"
)

// Events are the events a run can raise, for validation and defaults.
var Events = []Event{EventHeld, EventFailed, EventInterrupted, EventRecovered, EventConflicts, EventTLS, EventBudget}

// ParseEvent returns the event named s, or an error naming the valid ones.
func ParseEvent(s string) (Event, error) {
	for _, e := range append(Events, EventTest) {
		if string(e) == s {
			return e, nil
		}
	}
	names := make([]string, len(Events))
	for i, e := range Events {
		names[i] = string(e)
	}
	return "", fmt.Errorf("unknown event %q (want one of %s)", s, strings.Join(names, ", "))
}

// Alert is one message to people. Its JSON form is the body of the generic
// webhook (see the README).
type Alert struct {
	// Event is the kind of alert.
	Event Event `json:"event"`
	// OrgID is the organization, empty for an alert of no one
	// organization (the API budget, a test).
	OrgID string `json:"orgId,omitempty"`
	// RunID is the run that raised it, 0 for none.
	RunID int64 `json:"runId,omitempty"`
	// Time is when the alert was raised.
	Time time.Time `json:"time"`
	// Reminder is true for a reminder of a state already alerted.
	Reminder bool `json:"reminder,omitempty"`
	// Title is a one-line summary; Text explains it in a few sentences.
	Title string `json:"title"`
	Text  string `json:"text"`
	// Error is a failed or interrupted run's cause, as the CLI prints it.
	Error string `json:"error,omitempty"`
	// Held counts the deactivations a held run holds; ApproveCommand
	// approves them.
	Held           int    `json:"held,omitempty"`
	ApproveCommand string `json:"approveCommand,omitempty"`
	// ConsoleURL links to the run in the console, when one is configured.
	ConsoleURL string `json:"consoleUrl,omitempty"`
	// NewConflicts and OpenConflicts count conflicts (EventConflicts).
	NewConflicts  int `json:"newConflicts,omitempty"`
	OpenConflicts int `json:"openConflicts,omitempty"`
	// CertExpiry is the directory certificate's expiry and DaysLeft the
	// whole days left, negative once expired (EventTLS).
	CertExpiry *time.Time `json:"certExpiry,omitempty"`
	DaysLeft   *int       `json:"daysLeft,omitempty"`
	// BudgetUsed and BudgetLimit are Autotask's requests this hour and
	// its limit; PaceAt the share past which adsync slows down
	// (EventBudget).
	BudgetUsed  int     `json:"budgetUsed,omitempty"`
	BudgetLimit int     `json:"budgetLimit,omitempty"`
	PaceAt      float64 `json:"paceAt,omitempty"`
}

// Facts are the alert's details as label/value pairs, in a fixed order,
// for the channels that show them as a table.
func (a *Alert) Facts() [][2]string {
	var f [][2]string
	add := func(k, v string) {
		if v != "" {
			f = append(f, [2]string{k, v})
		}
	}
	add("Organization", a.OrgID)
	if a.RunID != 0 {
		add("Run", strconv.FormatInt(a.RunID, 10))
	}
	add("Event", string(a.Event))
	if a.Reminder {
		add("Reminder", "yes")
	}
	add("Approve with", a.ApproveCommand)
	add("Console", a.ConsoleURL)
	if a.CertExpiry != nil {
		add("Certificate expires", a.CertExpiry.UTC().Format(time.DateOnly))
	}
	if a.BudgetLimit > 0 {
		add("API budget", fmt.Sprintf("%d of %d requests this hour", a.BudgetUsed, a.BudgetLimit))
	}
	add("Time", a.Time.UTC().Format(time.RFC3339))
	return f
}

// PlainText is the alert as plain text: title, text and facts, for email.
func (a *Alert) PlainText() string {
	var b strings.Builder
	b.WriteString(a.Text)
	b.WriteString("\n\n")
	for _, f := range a.Facts() {
		fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
	}
	return b.String()
}
