package autotask

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/psasync/adsync"
)

// Defaults of Config.
const (
	// DefaultZoneLookupURL is the well-known root zoneInformation is called
	// on, without credentials (docs/autotask-api.md §1.2).
	DefaultZoneLookupURL = "https://webservices.autotask.net/atservicesrest/"
	// DefaultMaxInFlight is Autotask's thread limit per endpoint for
	// integrations created after 2023.1 (§5.2).
	DefaultMaxInFlight = 3
	// DefaultBudgetShare is the share of the hourly request budget past
	// which the client slows down (§5.1).
	DefaultBudgetShare = 0.5
	// DefaultBudgetStop is the share of the hourly request budget at which
	// the client stops with ErrBudgetExhausted.
	DefaultBudgetStop = 0.9
	// DefaultMaxRetries is how often a call that failed in a way worth
	// repeating (throttled, unavailable, not sent) is retried after its
	// first try: 6 tries at most.
	DefaultMaxRetries = 5
	// DefaultThresholdEvery is the number of calls between two reads of
	// ThresholdInformation.
	DefaultThresholdEvery = 100
	// DefaultTimeout is the timeout of the default HTTP client.
	DefaultTimeout = 60 * time.Second
	// DefaultCheckTimeout bounds one attempt of a read-only check (the zone
	// lookup, ThresholdInformation, the company check): long enough for
	// Autotask's slowest answers under load (about 1 s of added latency
	// past 75 % of the budget, §5.1), short enough that an endpoint that
	// never answers is reported in well under a minute.
	DefaultCheckTimeout = 15 * time.Second
)

// checkAttempts bounds the attempts of a read-only check: one retry of a
// transient failure, none of a timeout.
const checkAttempts = 2

// checkBudget is how many CheckTimeouts Check takes at most as a whole.
const checkBudget = 4

// Config configures a Client. IntegrationCode, Username and Secret are
// required; everything else has a documented default.
type Config struct {
	// IntegrationCode is the API tracking identifier sent as
	// ApiIntegrationCode (Admin > Extensions & Integrations > Other
	// Extensions & Tools > Integration Center).
	IntegrationCode string `json:"integrationCode"`
	// Username is the login of the "API User (API-only)" resource.
	Username string `json:"username"`
	// Secret is that user's secret. Redacted everywhere (adsync.Secret).
	Secret adsync.Secret `json:"secret,omitzero"`
	// ImpersonationResourceID, when non-zero, makes the writes appear as
	// made by this resource (ImpersonationResourceId header).
	ImpersonationResourceID int64 `json:"impersonationResourceId,omitempty"`
	// BaseURL, when set, is the REST root of the tenant's zone, e.g.
	// "https://webservices3.autotask.net/ATServicesRest/", and zone
	// discovery is skipped. Empty: discovered through ZoneLookupURL.
	BaseURL string `json:"baseUrl,omitempty"`
	// ZoneLookupURL is the root zoneInformation is called on (default
	// DefaultZoneLookupURL). Tests point it at the emulator.
	ZoneLookupURL string `json:"zoneLookupUrl,omitempty"`
	// HTTPClient makes the requests (default: a client with a 60 s timeout).
	// When its transport is an *http.Transport (or nil: the default one)
	// that keeps fewer idle connections per host than the client may have
	// in flight (MaxInFlight for each of the 5 endpoints it uses), the
	// client uses a copy with MaxIdleConnsPerHost raised to that, so that
	// connections are reused rather than opened again; the value given is
	// not changed.
	HTTPClient *http.Client `json:"-"`
	// Logger receives the client's log; nil discards it.
	Logger *slog.Logger `json:"-"`
	// MaxInFlight bounds the requests in flight per endpoint (default 3,
	// Autotask's thread limit; all contact routes share one endpoint).
	MaxInFlight int `json:"maxInFlight,omitempty"`
	// BudgetShare is the share (0–1] of the database's hourly request
	// budget past which the client paces its calls (default 0.5). The budget
	// is shared by every integration of the MSP.
	BudgetShare float64 `json:"budgetShare,omitempty"`
	// BudgetStop is the share (BudgetShare–1] at which the client stops
	// with ErrBudgetExhausted rather than push the database towards
	// Autotask's limit, which switches the API off for every integration
	// (default 0.9).
	BudgetStop float64 `json:"budgetStop,omitempty"`
	// MaxRetries is how often a call that failed in a way worth repeating
	// (a 429 or thread-limit rejection, a 503, a connection that could not
	// be made, and for reads a 502, 504 or "unexpected error" 500) is
	// retried after its first try, with jittered exponential backoff
	// honouring Retry-After. 0 means DefaultMaxRetries (5). Read-only
	// checks retry once at most whatever it says.
	MaxRetries int `json:"maxRetries,omitempty"`
	// ThresholdEvery is the number of calls between reads of
	// ThresholdInformation (default 100).
	ThresholdEvery int `json:"thresholdEvery,omitempty"`
	// CheckTimeout bounds one attempt of a read-only check: the zone
	// lookup, the ThresholdInformation read and the company check (default
	// DefaultCheckTimeout, 15 s). A check that times out is not retried;
	// one that fails otherwise is tried twice at most; Check as a whole
	// gives up after 4 × CheckTimeout.
	CheckTimeout time.Duration `json:"checkTimeout,omitempty"`
	// ExemptUDF, when set, is the name of a contact user-defined field
	// (matched case-insensitively, as Autotask does) whose truthy value
	// marks the contact exempt from deactivation (adsync.Contact.Exempt,
	// R-DEACT-9). Truthy is "true", "yes", "y", "1" or "x", in any case,
	// spaces around ignored: what a text UDF, a checkbox-like picklist or
	// a hand-typed mark holds. Any other value, a blank one, or the field
	// missing leaves the contact unexempt. It is read with the contacts in
	// the same query: Autotask returns userDefinedFields whatever
	// includeFields names (docs/autotask-api.md §3.3). Empty: none.
	ExemptUDF string `json:"exemptUdf,omitempty"`
}

// maxUDFName bounds ExemptUDF: a sanity limit that catches a pasted
// paragraph, well above the names Autotask's UI lets admins type.
const maxUDFName = 100

// withDefaults returns c with each optional field left zero set to its
// documented default. New applies it to its own copy once Validate passed;
// the caller's Config is never changed. (ldap.Config and graph.Config
// fill their defaults the same way.)
func (c Config) withDefaults() Config {
	if c.ZoneLookupURL == "" {
		c.ZoneLookupURL = DefaultZoneLookupURL
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.BudgetShare == 0 {
		c.BudgetShare = DefaultBudgetShare
	}
	if c.BudgetStop == 0 {
		c.BudgetStop = max(DefaultBudgetStop, c.BudgetShare)
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.ThresholdEvery == 0 {
		c.ThresholdEvery = DefaultThresholdEvery
	}
	if c.CheckTimeout == 0 {
		c.CheckTimeout = DefaultCheckTimeout
	}
	return c
}

// Validate checks the configuration without any network call and returns
// a *adsync.ConfigError naming the first bad field (by its JSON name,
// relative to the Config: "secret", "budgetStop"), or nil.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &adsync.ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case strings.TrimSpace(c.IntegrationCode) == "":
		return bad("integrationCode", "is required: the API tracking identifier of the integration (Autotask: Admin > Extensions & Integrations)")
	case strings.TrimSpace(c.Username) == "":
		return bad("username", "is required: the login of the API-only user, e.g. api-sync@yourmsp.com")
	case strings.ContainsAny(c.Username, " \t\r\n"):
		return bad("username", "%q contains white space; copy the API user's login exactly", c.Username)
	case c.Secret.IsZero():
		return bad("secret", "is required: the API-only user's secret")
	case strings.ContainsAny(c.Secret.Reveal(), "\r\n"):
		return bad("secret", "contains a line break (pasted with a newline?); remove it")
	case c.ImpersonationResourceID < 0:
		return bad("impersonationResourceId", "must be a resource id or 0 (none), got %d", c.ImpersonationResourceID)
	case c.MaxInFlight < 0 || c.MaxInFlight > 10:
		return bad("maxInFlight", "must be between 1 and 10 (Autotask allows 3 for new integrations), got %d", c.MaxInFlight)
	case c.BudgetShare < 0 || c.BudgetShare > 1:
		return bad("budgetShare", "must be a share between 0 and 1 (e.g. 0.5 for 50 %%), got %v", c.BudgetShare)
	case c.BudgetStop < 0 || c.BudgetStop > 1:
		return bad("budgetStop", "must be a share between 0 and 1 (e.g. 0.9 for 90 %%), got %v", c.BudgetStop)
	case c.BudgetStop != 0 && c.BudgetStop < c.withDefaults().BudgetShare:
		return bad("budgetStop", "(%v) must not be below budgetShare (%v)", c.BudgetStop, c.withDefaults().BudgetShare)
	case c.MaxRetries < 0:
		return bad("maxRetries", "must be 0 (default %d) or more, got %d", DefaultMaxRetries, c.MaxRetries)
	case c.ThresholdEvery < 0:
		return bad("thresholdEvery", "must be positive, got %d", c.ThresholdEvery)
	case c.CheckTimeout < 0:
		return bad("checkTimeout", "must be a positive duration such as 15s, got %v", c.CheckTimeout)
	case c.ExemptUDF != "" && strings.TrimSpace(c.ExemptUDF) != c.ExemptUDF:
		return bad("exemptUdf", "%q has spaces around it; give the user-defined field's name exactly, as in Autotask (Admin > Features & Settings > User-Defined Fields), or leave it empty", c.ExemptUDF)
	case len(c.ExemptUDF) > maxUDFName:
		return bad("exemptUdf", "is %d bytes long; a user-defined field's name has at most %d", len(c.ExemptUDF), maxUDFName)
	case strings.ContainsFunc(c.ExemptUDF, unicode.IsControl):
		return bad("exemptUdf", "%q contains a control character (a line break or tab?); give the user-defined field's name exactly", c.ExemptUDF)
	}
	if c.BaseURL != "" {
		if _, err := restRoot(c.BaseURL); err != nil {
			return bad("baseUrl", "%v", err)
		}
	}
	if c.ZoneLookupURL != "" {
		if u, err := url.Parse(c.ZoneLookupURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("zoneLookupUrl", "%q is not an http(s) URL", c.ZoneLookupURL)
		}
	}
	return nil
}

// restRoot normalizes a REST root to end in "/ATServicesRest/" (any case),
// accepting a trailing "V1.0".
func restRoot(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL; use the zone's REST root, e.g. https://webservices3.autotask.net/ATServicesRest/, or leave it empty for zone discovery", s)
	}
	p := strings.TrimRight(u.Path, "/")
	if strings.HasSuffix(strings.ToLower(p), "/v1.0") {
		p = p[:len(p)-len("/v1.0")]
	}
	if !strings.HasSuffix(strings.ToLower(p), "/atservicesrest") {
		return "", fmt.Errorf("%q is not an Autotask REST root: it must end in /ATServicesRest/ (e.g. https://webservices3.autotask.net/ATServicesRest/), or leave it empty for zone discovery", s)
	}
	u.Path = p + "/"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// String describes the configuration. The secret prints as adsync.Secret
// does ("[redacted]").
func (c Config) String() string {
	return fmt.Sprintf("autotask.Config{IntegrationCode:%q Username:%q Secret:%q ImpersonationResourceID:%d BaseURL:%q MaxInFlight:%d BudgetShare:%v BudgetStop:%v}",
		c.IntegrationCode, c.Username, c.Secret, c.ImpersonationResourceID, c.BaseURL, c.MaxInFlight, c.BudgetShare, c.BudgetStop)
}

// GoString is String, for %#v: fmt would print the HTTP client and the
// logger field by field.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration; the secret logs as adsync.Secret does.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("integrationCode", c.IntegrationCode),
		slog.String("username", c.Username),
		slog.Any("secret", c.Secret),
		slog.Int64("impersonationResourceId", c.ImpersonationResourceID),
		slog.String("baseUrl", c.BaseURL),
	)
}
