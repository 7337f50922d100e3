package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/errkind"
)

// Permissions are the application permissions the source needs, with admin
// consent (docs/directories.md §A7): GroupMember.Read.All to list the group's
// members, User.Read.All to see their properties.
const Permissions = "GroupMember.Read.All and User.Read.All"

// Error is a failed Graph or sign-in call, with the same shape as
// ldap.Error: what failed (Op), the adsync sentinel it stands for (Kind),
// what went wrong (Status, Code, Message) and what to fix (Hint), and the
// cause (Err). errors.Is finds both Kind and the cause, so
// errors.Is(err, adsync.ErrUnauthorized) and errors.Is(err,
// context.Canceled) hold as they should. It never carries the SDK's error
// values, whose Error method can panic (docs/directories.md §A6).
type Error struct {
	// Op is what failed, e.g. "reading the members of group <id>".
	Op string
	// Status is the HTTP status, 0 when there was no response.
	Status int
	// Code is Graph's error code ("Authorization_RequestDenied") or the
	// sign-in error ("AADSTS7000222").
	Code string
	// Message is the service's message, if any.
	Message string
	// Hint says what to fix.
	Hint string
	// Kind is the adsync sentinel: ErrUnauthorized, ErrNotFound,
	// ErrRateLimited, ErrUnavailable or ErrCursorExpired; nil for other
	// failures.
	Kind error
	// Err is the cause when it is safe to keep (a context's error), or nil:
	// never one of the SDK's error values.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("graph: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
	case e.Code != "":
		b.WriteString(e.Code)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.Kind != nil:
		b.WriteString(e.Kind.Error())
	default:
		b.WriteString("failed")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

// Unwrap returns Kind and the cause, those that are set.
func (e *Error) Unwrap() []error { return errkind.Unwrap(e.Kind, e.Err) }

var aadstsPattern = regexp.MustCompile(`AADSTS(\d+)`)

// tokenError classifies a failure to get a token from Entra ID by its
// AADSTS code.
func (s *Source) tokenError(err error) error {
	op := "signing in to Entra ID as app " + s.cfg.ClientID + " in tenant " + s.cfg.TenantID
	if ctxErr := contextError(err); ctxErr != nil {
		return &Error{Op: op, Err: ctxErr}
	}
	var afe *azidentity.AuthenticationFailedError
	isAFE := errors.As(err, &afe)
	msg := safeError(err)
	if tf := tlsFailure(err, msg); tf != "" {
		return &Error{Op: op, Message: tf, Kind: adsync.ErrTLS, Hint: untrustedHint("the sign-in endpoint " + s.authorityHost())}
	}
	m := aadstsPattern.FindStringSubmatch(msg)
	if m == nil {
		if !isAFE || afe.RawResponse == nil {
			return &Error{Op: op, Message: firstLine(msg), Kind: adsync.ErrUnavailable,
				Hint: "check the network path to the sign-in endpoint of the configured cloud"}
		}
		return &Error{Op: op, Status: afe.RawResponse.StatusCode, Message: firstLine(msg), Kind: adsync.ErrUnauthorized,
			Hint: "check tenantId, clientId and the secret or certificate"}
	}
	e := &Error{Op: op, Code: "AADSTS" + m[1], Kind: adsync.ErrUnauthorized}
	if isAFE && afe.RawResponse != nil {
		e.Status = afe.RawResponse.StatusCode
	}
	switch m[1] {
	case "90002", "900023", "90001":
		e.Message = "tenant not found"
		e.Hint = "check tenantId (the Directory (tenant) ID on the app registration's Overview page) and that the cloud is right"
	case "700016":
		e.Message = "application not found in the tenant"
		e.Hint = "check clientId (the Application (client) ID) and that the app is registered in, or consented to by, this tenant"
	case "7000215":
		e.Message = "invalid client secret"
		e.Hint = "use the secret's Value, not its Secret ID; create a new secret if the value was lost"
	case "7000222":
		e.Message = "the client secret has expired"
		e.Hint = "create a new client secret under Certificates & secrets of the app registration and update clientSecret"
	case "700027", "700024", "1000502":
		e.Message = "the client certificate was refused"
		e.Hint = "upload the certificate's public part to the app registration and check that it has not expired"
	case "65001", "650057", "500011":
		e.Message = "the app has no consent in this tenant"
		e.Hint = "an administrator must grant admin consent for the application permissions " + Permissions
	default:
		e.Message = "sign-in refused"
		e.Hint = "check tenantId, clientId and the secret or certificate"
	}
	return e
}

// apiError classifies a failed Graph call. op says what was being done.
func (s *Source) apiError(op string, err error) error {
	if ctxErr := contextError(err); ctxErr != nil {
		return &Error{Op: op, Err: ctxErr}
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) || aadstsPattern.MatchString(safeError(err)) {
		return s.tokenError(err)
	}
	e := &Error{Op: op}
	var oe *odataerrors.ODataError
	var ae *abstractions.ApiError
	switch {
	case tlsFailure(err, safeError(err)) != "":
		e.Message = tlsFailure(err, safeError(err))
		e.Kind = adsync.ErrTLS
		e.Hint = untrustedHint("Microsoft Graph at " + hostOf(s.base))
		return e
	case errors.As(err, &oe):
		e.Status = oe.GetStatusCode()
		if me := oe.GetErrorEscaped(); me != nil {
			e.Code = deref(me.GetCode())
			e.Message = deref(me.GetMessage())
		}
	case errors.As(err, &ae):
		e.Status = ae.ResponseStatusCode
	default:
		e.Message = firstLine(safeError(err))
		e.Kind = adsync.ErrUnavailable
		e.Hint = "check the network path to Microsoft Graph"
		return e
	}
	switch st := e.Status; {
	case st == http.StatusUnauthorized:
		e.Kind = adsync.ErrUnauthorized
		e.Hint = "Graph refused the token: check that the app registration is in the configured cloud and tenant"
	case st == http.StatusForbidden:
		e.Kind = adsync.ErrUnauthorized
		e.Hint = "grant the app the application permissions " + Permissions + " and an administrator's consent"
	case st == http.StatusNotFound:
		e.Kind = adsync.ErrNotFound
		e.Hint = "check groupId: it must be the Object ID of a group in this tenant"
	case st == http.StatusTooManyRequests:
		e.Kind = adsync.ErrRateLimited
		e.Hint = "Graph throttled the app past " + strconv.Itoa(s.cfg.MaxRetries) + " retries; try again later"
	case st == http.StatusGone || strings.EqualFold(e.Code, "syncStateNotFound") || strings.EqualFold(e.Code, "resyncRequired"):
		e.Kind = adsync.ErrCursorExpired
		e.Hint = "the delta token has expired; a full read is needed"
	case st >= 500:
		e.Kind = adsync.ErrUnavailable
		e.Hint = "Microsoft Graph is not answering normally; try again later"
	}
	return e
}

// certFailure finds the text of a failed certificate check in an error
// whose chain was flattened to text (MSAL's authority resolution).
var certFailure = regexp.MustCompile(`(tls: failed to verify certificate|x509: )[^\n]*`)

// tlsFailure returns the text of a failed certificate check in err (msg is
// its text), or "".
func tlsFailure(err error, msg string) string {
	if _, text, ok := adsync.CertificateFailure(err); ok {
		return text
	}
	m, _, _ := strings.Cut(certFailure.FindString(msg), ". To troubleshoot") // azidentity's link, not ours to show
	return m
}

// untrustedHint says what to do about an untrusted certificate of what.
func untrustedHint(what string) string {
	return "the certificate of " + what + " is not trusted: if a TLS-inspecting proxy sits in the path, add its CA to this machine's trusted roots or exempt the Microsoft endpoints from inspection; check the cloud setting"
}

// authorityHost is the host signed in to.
func (s *Source) authorityHost() string {
	if s.cfg.AuthorityHost != "" {
		return hostOf(s.cfg.AuthorityHost)
	}
	ep, _ := s.cfg.Cloud.Endpoints()
	return hostOf(ep.Authority)
}

// hostOf is the host[:port] of a URL, or the URL itself.
func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}

// contextError returns the context's error when err comes from a
// cancelled or timed-out context.
func contextError(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}

// safeError is err.Error(), except for the SDK's error values, whose Error
// method panics when the body had no message (msgraph-sdk-go #434).
func safeError(err error) (msg string) {
	defer func() {
		if recover() != nil {
			msg = fmt.Sprintf("%T", err)
		}
	}()
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		if me := oe.GetErrorEscaped(); me != nil && me.GetMessage() != nil {
			return *me.GetMessage()
		}
		return "HTTP " + strconv.Itoa(oe.GetStatusCode())
	}
	return err.Error()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
