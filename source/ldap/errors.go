package ldap

import (
	"fmt"
	"strings"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/errkind"
)

// Error is a failed LDAP operation, with the same shape as graph.Error: what
// failed (Op), the adsync sentinel it stands for (Kind), what went wrong and
// what to change (Message), and the cause (Err). errors.Is finds both Kind
// and the cause (context.Canceled for a cancelled call); errors.As finds
// the Error. The message never holds the password.
type Error struct {
	// Op is what failed, e.g. "bind as svc-sync@corp.example" or
	// "TLS handshake with dc1.corp.example:636".
	Op string
	// Kind is the adsync sentinel: ErrUnauthorized, ErrTLS, ErrNotFound,
	// ErrUnavailable or ErrCursorExpired; nil for other failures.
	Kind error
	// Message says what went wrong and what to change; when empty, the
	// cause's text stands for it.
	Message string
	// Err is the cause, or nil.
	Err error
	// TLS is, for a failed handshake (Kind ErrTLS), the TLS status it stands
	// for (R-STATUS-2): TLSUntrusted, TLSHostnameMismatch or TLSExpired, or
	// TLSUnknown when it failed before any certificate was seen. CertExpiry
	// is the server certificate's NotAfter when one was seen.
	TLS        adsync.TLSStatus
	CertExpiry time.Time
}

// Error returns "ldap: " + Op + ": " + Message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ldap: ")
	b.WriteString(e.Op)
	switch {
	case e.Message != "":
		b.WriteString(": " + e.Message)
	case e.Err != nil:
		b.WriteString(": " + e.Err.Error())
	case e.Kind != nil:
		b.WriteString(": " + e.Kind.Error())
	}
	return b.String()
}

// Unwrap returns Kind and the cause, those that are set.
func (e *Error) Unwrap() []error { return errkind.Unwrap(e.Kind, e.Err) }

// opErr returns an *Error of kind (nil for none) with a formatted message.
func opErr(op string, kind, cause error, format string, args ...any) error {
	return &Error{Op: op, Kind: kind, Err: cause, Message: fmt.Sprintf(format, args...)}
}

// ctxErr is the error of op cut short by its context.
func ctxErr(op string, err error) error { return &Error{Op: op, Err: err} }
