package autotask

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/errkind"
)

// Error is a failed operation of the Client that is not an answer of
// Autotask's (APIError) or the budget's stop (BudgetError), with the same
// shape as ldap.Error and graph.Error: what failed (Op), the adsync
// sentinel it stands for (Kind), what went wrong (Message) and the cause
// (Err). errors.Is finds both Kind and the cause (context.Canceled for a
// cancelled call, the APIError's kind when the cause is one); errors.As
// finds the Error and an APIError or BudgetError beneath it.
type Error struct {
	// Op is what failed, e.g. "create contact Ada Lovelace in company 174".
	Op string
	// Kind is the adsync sentinel: ErrNotFound, ErrValidation,
	// ErrOutcomeUnknown or ErrUnavailable; nil when the cause tells.
	Kind error
	// Message says what went wrong and what to change; when empty, the
	// cause's text stands for it.
	Message string
	// Err is the cause, or nil.
	Err error
}

// Error returns "autotask: " + Op + ": " + Message, then the cause's text.
func (e *Error) Error() string { return "autotask: " + e.detail() }

// detail is the message without the package prefix.
func (e *Error) detail() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	switch {
	case e.Err != nil:
		b.WriteString(": " + detail(e.Err))
	case e.Message == "" && e.Kind != nil:
		b.WriteString(": " + e.Kind.Error())
	}
	return b.String()
}

// Unwrap returns Kind and the cause, those that are set.
func (e *Error) Unwrap() []error { return errkind.Unwrap(e.Kind, e.Err) }

// detail is an error's text without the package prefix and the op, for an
// error that is the cause of another: the prefix then shows once.
func detail(err error) string {
	var oe *Error
	if errors.As(err, &oe) && oe == err {
		return oe.detail()
	}
	var ae *APIError
	if errors.As(err, &ae) && ae == err {
		return ae.detail()
	}
	var be *BudgetError
	if errors.As(err, &be) && be == err {
		return be.detail()
	}
	return err.Error()
}

// fail returns err as the failure of op: an APIError or BudgetError
// without an op gets op, anything else becomes the cause of an Error. Every
// exported method hands its errors out through fail, so that each message
// starts with "autotask: " and what failed, once.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	switch e := err.(type) {
	case *APIError:
		if e.Op == "" {
			e.Op = op
			return e
		}
	case *BudgetError:
		if e.Op == "" {
			e.Op = op
			return e
		}
	}
	return &Error{Op: op, Err: err}
}

// APIError is a call Autotask answered with an error, or one that got no
// usable answer. errors.Is matches the adsync sentinel of its Kind
// (ErrUnauthorized, ErrNotFound, ErrRateLimited, ErrValidation,
// ErrUnavailable or ErrTLS) and the cause (a context's error, a transport
// error).
type APIError struct {
	// Op is what failed, e.g. "read the contacts of company 174 (page 1)";
	// empty while the error is the cause of another.
	Op string
	// Method and Endpoint are the request, e.g. "POST" and
	// "Companies/174/Contacts" (the path after V1.0, no host).
	Method   string
	Endpoint string
	// Status is the HTTP status; 0 when no response arrived.
	Status int
	// Messages are Autotask's messages: the errors list, or the Message of
	// an ASP.NET error body; for a call without an answer, what happened.
	Messages []string
	// Field is the contact field the messages name, when one does.
	Field string
	// Hint says what to fix, when the client can tell.
	Hint string
	// Kind is the adsync sentinel the failure stands for; nil for a call
	// cut short by its context.
	Kind error
	// Err is the cause: the transport's or the context's error; nil for an
	// answer.
	Err error

	// noAnswer marks a read-only check that got no answer in time.
	noAnswer bool
}

// Error describes what failed, the call, the status, the kind, the field
// and the fix: "autotask: " + Op + ": " + the call and what came back.
func (e *APIError) Error() string {
	if e.Op == "" {
		return "autotask: " + e.detail()
	}
	return "autotask: " + e.Op + ": " + e.detail()
}

// detail is the message without the package prefix and the op.
func (e *APIError) detail() string {
	var b strings.Builder
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Endpoint)
	if e.Status != 0 {
		b.WriteString(": HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
	}
	if e.Kind != nil {
		b.WriteString(" (")
		b.WriteString(e.Kind.Error())
		b.WriteByte(')')
	}
	if e.Field != "" {
		b.WriteString(": field ")
		b.WriteString(e.Field)
	}
	switch {
	case len(e.Messages) > 0:
		b.WriteString(": ")
		b.WriteString(strings.TrimRight(strings.Join(e.Messages, "; "), ". "))
	case e.Err != nil:
		b.WriteString(": ")
		b.WriteString(redactURL(e.Err.Error()))
	}
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns Kind and the cause, those that are set.
func (e *APIError) Unwrap() []error { return errkind.Unwrap(e.Kind, e.Err) }

// BudgetError is the stop of a run at the configured share of Autotask's
// hourly request budget. Its kind is adsync.ErrBudgetExhausted, which
// errors.Is finds; it has no cause.
type BudgetError struct {
	// Op is what was stopped, e.g. "create contact Ada Lovelace in
	// company 174"; empty while the error is the cause of another.
	Op    string
	Used  int     // requests in the rolling hour, as last known
	Limit int     // the database's threshold per hour
	Stop  float64 // the configured BudgetStop
	// OwnCount is set when ThresholdInformation could not be read: Used is
	// then this client's own calls in the last hour and Limit Autotask's
	// documented threshold (DocumentedHourlyLimit).
	OwnCount bool
}

// Error says what was stopped, how much is used and what to do.
func (e *BudgetError) Error() string {
	if e.Op == "" {
		return "autotask: " + e.detail()
	}
	return "autotask: " + e.Op + ": " + e.detail()
}

func (e *BudgetError) detail() string {
	if e.OwnCount {
		return fmt.Sprintf("ThresholdInformation cannot be read, and this client alone made %d requests in the last hour of the %d Autotask documents per database (stop at %.0f %%; other integrations' use is unknown): stopping rather than push Autotask over its limit, which would switch the API off for every integration of the MSP; run again later or raise autotask.budgetStop",
			e.Used, e.Limit, e.Stop*100)
	}
	return fmt.Sprintf("%d of the database's %d requests per hour are used (stop at %.0f %%): stopping rather than push Autotask over its limit, which would switch the API off for every integration of the MSP; run again later or raise autotask.budgetStop",
		e.Used, e.Limit, e.Stop*100)
}

// Unwrap returns the kind, adsync.ErrBudgetExhausted.
func (e *BudgetError) Unwrap() error { return adsync.ErrBudgetExhausted }

// errorBody is Autotask's error body, {"errors": [...]}, or ASP.NET's
// {"Message": "..."}.
type errorBody struct {
	Errors  []json.RawMessage `json:"errors"`
	Message string            `json:"Message"`
}

// messages extracts the messages of an error body. ok is false when the
// body is not JSON of either shape (a proxy, a wrong URL).
func messages(body []byte) (msgs []string, ok bool) {
	var eb errorBody
	if len(body) == 0 {
		return nil, true
	}
	if err := json.Unmarshal(body, &eb); err != nil {
		return nil, false
	}
	for _, raw := range eb.Errors {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			msgs = append(msgs, s)
			continue
		}
		// Defensive: {message, field} objects (go-autotask).
		var o struct{ Message, Field string }
		if json.Unmarshal(raw, &o) == nil && o.Message != "" {
			msgs = append(msgs, strings.TrimSpace(o.Field+" "+o.Message))
		}
	}
	if eb.Message != "" {
		msgs = append(msgs, eb.Message)
	}
	return msgs, true
}

// isThreadLimit reports a thread-limit rejection, whatever its status
// (§5.2).
func isThreadLimit(msgs []string) bool {
	for _, m := range msgs {
		l := strings.ToLower(m)
		if strings.Contains(l, "thread threshold") || strings.Contains(l, "itgenatr005") {
			return true
		}
	}
	return false
}

// contactFieldNames are the REST names the client recognizes in messages.
var contactFieldNames = func() []string {
	names := []string{"isActive", "companyID", "billingProductID", "contactID"}
	for _, f := range adsync.AllFields() {
		names = append(names, f.String())
	}
	return names
}()

// namedField returns the first contact field a message names. Longer names
// are tried first so that addressLine1 is not read as addressLine.
func namedField(msgs []string) string {
	best := ""
	for _, m := range msgs {
		for _, n := range contactFieldNames {
			if len(n) > len(best) && containsWord(m, n) {
				best = n
			}
		}
		if best != "" {
			return best
		}
	}
	return best
}

func containsWord(s, w string) bool {
	ls, lw := strings.ToLower(s), strings.ToLower(w)
	for i := 0; ; {
		j := strings.Index(ls[i:], lw)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(lw)
		if (j == 0 || !isWordByte(ls[j-1])) && (end == len(ls) || !isWordByte(ls[end])) {
			return true
		}
		i = j + 1
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_'
}

// classify builds the APIError of a non-200 answer.
func classify(method, endpoint string, status int, body []byte, contentType string) *APIError {
	msgs, isJSON := messages(body)
	e := &APIError{Method: method, Endpoint: endpoint, Status: status, Messages: msgs}
	if !isJSON {
		snippet := strings.TrimSpace(string(body))
		if len(snippet) > 120 {
			snippet = snippet[:120] + "…"
		}
		e.Messages = nil
		e.Hint = fmt.Sprintf("the answer is not Autotask's JSON (Content-Type %q, body %q): check autotask.baseUrl, which must be the zone's REST root ending in /ATServicesRest/, or leave it empty for zone discovery", contentType, snippet)
	}
	switch {
	case isThreadLimit(msgs) || status == http.StatusTooManyRequests:
		e.Kind = adsync.ErrRateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = adsync.ErrUnauthorized
		if status == http.StatusUnauthorized {
			e.Hint = "Autotask refused the secret: check autotask.secret (the API-only user's secret; regenerate it in Admin > Resources if unsure)"
		} else {
			e.Hint = "the API user's security level lacks access: give it the \"API User (API-only)\" security level with access to Contacts"
		}
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		e.Kind = adsync.ErrNotFound
		if e.Hint == "" && status == http.StatusNotFound {
			e.Hint = "no such route: check autotask.baseUrl (it must end in /ATServicesRest/)"
		}
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		e.Kind = adsync.ErrUnavailable
	case status == http.StatusInternalServerError && unknownUser(msgs):
		e.Kind = adsync.ErrUnauthorized
		e.Hint = "Autotask does not know this user name: check autotask.username (the API-only user's login, e.g. api-sync@yourmsp.com)"
	case status == http.StatusInternalServerError && badIntegrationCode(msgs):
		e.Kind = adsync.ErrUnauthorized
		e.Hint = "Autotask refused the integration code: check autotask.integrationCode (the API tracking identifier of your integration, Admin > Extensions & Integrations)"
	case status == http.StatusInternalServerError && unexpected(msgs):
		e.Kind = adsync.ErrUnavailable
	case status == http.StatusInternalServerError || status == http.StatusBadRequest:
		// Validation and business-rule failures (§5.3): not retried.
		if !isJSON {
			e.Kind = adsync.ErrUnavailable
			break
		}
		e.Kind = adsync.ErrValidation
		e.Field = namedField(msgs)
	default:
		e.Kind = adsync.ErrUnavailable
	}
	return e
}

func anyContains(msgs []string, parts ...string) bool {
	for _, m := range msgs {
		l := strings.ToLower(m)
		for _, p := range parts {
			if strings.Contains(l, p) {
				return true
			}
		}
	}
	return false
}

func unknownUser(msgs []string) bool {
	return anyContains(msgs, "zone information could not be determined", "user is not found", "invalid user")
}

func badIntegrationCode(msgs []string) bool {
	return anyContains(msgs, "integrationcode", "integration code", "tracking identifier")
}

func unexpected(msgs []string) bool {
	return anyContains(msgs, "an unexpected error has occurred")
}

// tlsFailure returns the text of a failed certificate check in err, or "".
func tlsFailure(err error) string {
	_, text, _ := adsync.CertificateFailure(err)
	return text
}

// tlsError is the APIError of a failed certificate check of rawURL's host:
// ErrTLS, never retried (no retry makes a certificate trusted).
func tlsError(method, endpoint, rawURL, failure string) *APIError {
	host := hostOf(rawURL)
	return &APIError{Method: method, Endpoint: endpoint, Messages: []string{failure}, Kind: adsync.ErrTLS,
		Hint: "the certificate of " + host + " is not trusted: if a TLS-inspecting proxy sits in the path, add its CA to this machine's trusted roots or exempt *.autotask.net from inspection; check autotask.baseUrl"}
}
