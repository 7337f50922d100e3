package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/psasync/adsync"
)

// Defaults of Options and Auth.
const (
	// DefaultSessionTTL is how long a session lasts without activity.
	DefaultSessionTTL = 8 * time.Hour
	// DefaultUsername is the local administrator's name.
	DefaultUsername = "admin"
	// DefaultLoginAttempts is how many failed sign-ins one client address
	// may make per DefaultLoginWindow before it is made to wait.
	DefaultLoginAttempts = 5
	// DefaultLoginWindow is the window of DefaultLoginAttempts.
	DefaultLoginWindow = 5 * time.Minute
	// MaxPlanChanges is how many changes of a plan the preview page lists
	// one by one; the whole plan can be downloaded as text.
	MaxPlanChanges = 1000
)

// Options configure a Console. Syncer and Orgs are required; Auth must
// configure a way to sign in, or turn authentication off explicitly.
// Options grow with the library: a field added later (an undo action, the
// per-run change log) has a zero value that keeps the console as it is.
type Options struct {
	// Syncer runs the actions and reads the status. Required.
	Syncer *adsync.Syncer
	// Orgs returns the organizations the console shows, in display order.
	// It is called on every request, so a host that reloads its
	// configuration shows the new one. Required; StaticOrgs adapts a slice.
	Orgs func() []adsync.Org
	// Scheduler, when set, gives each organization's next due time.
	Scheduler *adsync.Scheduler
	// Contacts, when set, reads candidate contacts so that the conflicts
	// page shows their names and emails next to the user (the autotask
	// client is one). Without it candidates are shown by id.
	Contacts adsync.ContactGetter
	// Auth configures sign-in. Required: a password, OIDC, or NoAuth.
	Auth Auth
	// Prefix is the path the console is mounted at, e.g. "/console"
	// (default "": the root). The console serves the paths under it.
	Prefix string
	// SecureCookies marks the session cookie Secure even when the request
	// did not arrive over TLS, for a console behind a TLS-terminating
	// proxy. Over TLS it is always Secure.
	SecureCookies bool
	// BaseContext is the context of the runs the console starts (sync now,
	// approve, apply): cancelling it stops them gracefully, as a stopping
	// service does. Default context.Background().
	BaseContext context.Context
	// Logger receives the console's log: who did what, refused sign-ins.
	// nil discards it.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

// StaticOrgs adapts a fixed list of organizations to Options.Orgs.
func StaticOrgs(orgs []adsync.Org) func() []adsync.Org {
	return func() []adsync.Org { return orgs }
}

// Auth configures how administrators sign in. Set PasswordHash or Password
// for a local administrator, OIDC for single sign-on, or both. NoAuth turns
// authentication off; CheckListen refuses it on anything but loopback.
type Auth struct {
	// Username is the local administrator's name (default "admin").
	Username string
	// PasswordHash is a bcrypt hash of the local administrator's password
	// (`htpasswd -bnBC 12 "" PASSWORD | tr -d ':\n'`, or `adsync
	// hash-password`). Preferred over Password.
	PasswordHash string
	// Password is the local administrator's password itself, for a host
	// that reads it from the environment or a file like its other secrets.
	// Never shown or logged.
	Password string
	// OIDC, when set, adds "Sign in with Microsoft" (or any OpenID
	// Connect provider).
	OIDC *OIDCConfig
	// NoAuth serves every page without sign-in. Only for a console bound
	// to loopback on a single-user machine; see CheckListen.
	NoAuth bool
	// SessionTTL is how long a session lasts without activity (default
	// DefaultSessionTTL).
	SessionTTL time.Duration
	// LoginAttempts and LoginWindow rate-limit failed sign-ins per client
	// address (defaults DefaultLoginAttempts per DefaultLoginWindow).
	LoginAttempts int
	LoginWindow   time.Duration
}

// String describes the configuration without its secrets.
func (a Auth) String() string {
	var parts []string
	if a.PasswordHash != "" || a.Password != "" {
		parts = append(parts, "password for "+a.user())
	}
	if a.OIDC != nil {
		parts = append(parts, "OIDC "+a.OIDC.String())
	}
	if a.NoAuth {
		parts = append(parts, "no authentication")
	}
	if len(parts) == 0 {
		return "console.Auth{none}"
	}
	return "console.Auth{" + strings.Join(parts, ", ") + "}"
}

// GoString is String, so that %#v does not print the secrets either.
func (a Auth) GoString() string { return a.String() }

func (a Auth) user() string {
	if a.Username == "" {
		return DefaultUsername
	}
	return a.Username
}

// Configured reports whether a way to sign in is configured (a password or
// OIDC).
func (a Auth) Configured() bool {
	return a.PasswordHash != "" || a.Password != "" || a.OIDC != nil
}

// Validate checks the authentication settings and returns a
// *adsync.ConfigError naming the first bad one ("Auth.PasswordHash"), or
// nil. It never repeats a secret. Options.Validate calls it.
func (a Auth) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if !a.Configured() && !a.NoAuth {
		return bad("Auth", "configure a password (Auth.PasswordHash or Auth.Password), OIDC sign-in (Auth.OIDC), or turn authentication off with Auth.NoAuth (loopback only)")
	}
	if a.NoAuth && a.Configured() {
		return bad("Auth.NoAuth", "is set together with a password or OIDC: choose one")
	}
	if a.PasswordHash != "" && a.Password != "" {
		return bad("Auth.Password", "is set together with Auth.PasswordHash: choose one")
	}
	if a.PasswordHash != "" {
		// The message does not repeat the value: a password pasted
		// where its hash goes would be printed otherwise.
		if _, err := bcrypt.Cost([]byte(a.PasswordHash)); err != nil {
			return bad("Auth.PasswordHash", "is not a bcrypt hash (it starts with $2a$, $2b$ or $2y$); was the password itself given?")
		}
	}
	if a.Password != "" && len(a.Password) < 12 {
		return bad("Auth.Password", "is too short: use at least 12 characters")
	}
	if strings.ContainsAny(a.Username, " \t\r\n") {
		return bad("Auth.Username", "%q must not contain spaces", a.Username)
	}
	if a.SessionTTL < 0 {
		return bad("Auth.SessionTTL", "must be positive (0 for the default %s), got %s", DefaultSessionTTL, a.SessionTTL)
	}
	if a.LoginAttempts < 0 {
		return bad("Auth.LoginAttempts", "must be positive (0 for the default %d), got %d", DefaultLoginAttempts, a.LoginAttempts)
	}
	if a.LoginWindow < 0 {
		return bad("Auth.LoginWindow", "must be positive (0 for the default %s), got %s", DefaultLoginWindow, a.LoginWindow)
	}
	if c := a.OIDC; c != nil {
		if err := checkURL(c.Issuer, "Auth.OIDC.Issuer", "https://login.microsoftonline.com/<tenant id>/v2.0"); err != nil {
			return err
		}
		if c.ClientID == "" {
			return bad("Auth.OIDC.ClientID", "is required (the application (client) id)")
		}
		if c.ClientSecret == "" {
			return bad("Auth.OIDC.ClientSecret", "is required (a client secret of the application)")
		}
		if err := checkURL(c.RedirectURL, "Auth.OIDC.RedirectURL", "https://adsync.example.com/console/oidc/callback"); err != nil {
			return err
		}
		if !strings.HasSuffix(c.RedirectURL, "/oidc/callback") {
			return bad("Auth.OIDC.RedirectURL", "%q must end with \"/oidc/callback\", the console's callback", c.RedirectURL)
		}
	}
	return nil
}

// MarshalJSON encodes the description of String, never the secrets.
func (a Auth) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// LogValue logs the description of String, never the secrets.
func (a Auth) LogValue() slog.Value { return slog.StringValue(a.String()) }

// OIDCConfig configures OpenID Connect sign-in, e.g. against Entra ID:
// register an application (web platform) whose redirect URI is RedirectURL,
// with a client secret.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; for Entra ID
	// "https://login.microsoftonline.com/<tenant id>/v2.0". Required.
	Issuer string
	// ClientID and ClientSecret are the application's credentials.
	// Required.
	ClientID     string
	ClientSecret string
	// RedirectURL is the console's callback as the browser reaches it:
	// the console's external URL followed by "/oidc/callback", e.g.
	// "https://adsync.example.com/console/oidc/callback". Required.
	RedirectURL string
	// AllowedUsers, when not empty, lists the accounts (email or
	// preferred_username, case-insensitive) that may sign in; others are
	// refused. Empty: every account the provider signs in (for Entra ID,
	// every user of the tenant the application is registered in).
	AllowedUsers []string
	// ButtonLabel is the sign-in button's text (default "Sign in with
	// Microsoft").
	ButtonLabel string
}

// String describes the configuration without the client secret.
func (o *OIDCConfig) String() string {
	return fmt.Sprintf("issuer %s, client %s", o.Issuer, o.ClientID)
}

// GoString is String, so that %#v does not print the secret either.
func (o *OIDCConfig) GoString() string { return o.String() }

// ConfigError reports an invalid option: Field names it as written in
// Options ("Auth.OIDC.Issuer").
type ConfigError = adsync.ConfigError

// Validate checks the options and returns a *adsync.ConfigError naming the
// first bad field, or nil. It never repeats a secret.
func (o *Options) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case o.Syncer == nil:
		return bad("Syncer", "is required")
	case o.Orgs == nil:
		return bad("Orgs", "is required (console.StaticOrgs adapts a slice)")
	}
	if o.Prefix != "" && (!strings.HasPrefix(o.Prefix, "/") || strings.HasSuffix(o.Prefix, "/") || strings.ContainsAny(o.Prefix, "?#\"'<> ")) {
		return bad("Prefix", "%q must start with '/' and not end with one, e.g. \"/console\"", o.Prefix)
	}
	if err := o.Auth.Validate(); err != nil {
		return err
	}
	if c := o.Auth.OIDC; c != nil && !strings.HasSuffix(c.RedirectURL, o.Prefix+"/oidc/callback") {
		return bad("Auth.OIDC.RedirectURL", "%q must end with %q, the console's callback", c.RedirectURL, o.Prefix+"/oidc/callback")
	}
	return nil
}

func checkURL(s, field, example string) error {
	if s == "" {
		return &ConfigError{Field: field, Problem: "is required, e.g. " + example}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &ConfigError{Field: field, Problem: fmt.Sprintf("%q is not an http(s) URL, e.g. %s", s, example)}
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return &ConfigError{Field: field, Problem: fmt.Sprintf("%q must use https (http only on loopback, for tests)", s)}
	}
	return nil
}

// ErrUnsafeListen is returned by CheckListen for a non-loopback address
// without authentication.
var ErrUnsafeListen = errors.New("console: refusing to listen beyond loopback without authentication")

// CheckListen checks the address the console is about to listen on: an
// address reachable from other machines (anything but 127.0.0.0/8, ::1 or
// localhost, including an empty host, which means every interface) is
// refused unless authentication is configured. The error says what to
// configure.
func CheckListen(addr string, authConfigured bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("console: listen address %q: want host:port, e.g. 127.0.0.1:8080: %w", addr, err)
	}
	if port == "" {
		return fmt.Errorf("console: listen address %q: the port is missing, e.g. 127.0.0.1:8080", addr)
	}
	if isLoopbackHost(host) || authConfigured {
		return nil
	}
	what := host
	if host == "" {
		what = "every interface"
	}
	return fmt.Errorf("%w: %q (%s) is reachable from other machines; configure an admin password or OIDC sign-in for the console, or listen on a loopback address such as 127.0.0.1:8080",
		ErrUnsafeListen, addr, what)
}

// IsLoopback reports whether a listen address (host:port) is on loopback
// only: reachable from this machine alone. "localhost" counts; an empty
// host (every interface) does not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(host)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
