package graph

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/psasync/adsync"
)

// Cloud is a Microsoft cloud: each has its own sign-in authority, Graph
// root and token scope (docs/directories.md §A9). The app registration must be
// made in that cloud's own portal.
type Cloud string

// The clouds. The zero value is CloudPublic.
const (
	CloudPublic   Cloud = "public"   // global Azure: login.microsoftonline.com, graph.microsoft.com
	CloudUSGov    Cloud = "usgov"    // US Government L4 (GCC High): login.microsoftonline.us, graph.microsoft.us
	CloudUSGovDoD Cloud = "usgovdod" // US Government L5 (DoD): login.microsoftonline.us, dod-graph.microsoft.us
	CloudChina    Cloud = "china"    // China, operated by 21Vianet: login.chinacloudapi.cn, microsoftgraph.chinacloudapi.cn
)

// Endpoints are where a cloud signs in and serves Graph.
type Endpoints struct {
	// Authority is the Entra ID sign-in host, e.g.
	// "https://login.microsoftonline.com/".
	Authority string
	// GraphRoot is the Graph v1.0 root, e.g. "https://graph.microsoft.com/v1.0".
	GraphRoot string
	// Scope is the app-only token scope, e.g.
	// "https://graph.microsoft.com/.default".
	Scope string
}

var clouds = map[Cloud]Endpoints{
	CloudPublic:   {cloud.AzurePublic.ActiveDirectoryAuthorityHost, "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/.default"},
	CloudUSGov:    {cloud.AzureGovernment.ActiveDirectoryAuthorityHost, "https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/.default"},
	CloudUSGovDoD: {cloud.AzureGovernment.ActiveDirectoryAuthorityHost, "https://dod-graph.microsoft.us/v1.0", "https://dod-graph.microsoft.us/.default"},
	CloudChina:    {cloud.AzureChina.ActiveDirectoryAuthorityHost, "https://microsoftgraph.chinacloudapi.cn/v1.0", "https://microsoftgraph.chinacloudapi.cn/.default"},
}

// Endpoints returns the cloud's endpoints; ok is false for an unknown
// cloud. The empty Cloud is CloudPublic.
func (c Cloud) Endpoints() (e Endpoints, ok bool) {
	if c == "" {
		c = CloudPublic
	}
	e, ok = clouds[c]
	return e, ok
}

// DefaultMaxRetries is how often a throttled (429) or unavailable (503,
// 504) request is retried, honouring Retry-After, before the read fails.
const DefaultMaxRetries = 3

// Config configures a Source. The zero value of each optional field means
// its documented default.
type Config struct {
	// TenantID is the Entra ID tenant: its id (a GUID) or a verified
	// domain such as "contoso.onmicrosoft.com". Required unless Credential
	// is set.
	TenantID string `json:"tenantId"`
	// ClientID is the app registration's application (client) id, a GUID.
	// Required unless Credential is set.
	ClientID string `json:"clientId"`
	// ClientSecret is a client secret's value (not its id). Give it or
	// Certificate, not both. Redacted everywhere (adsync.Secret).
	ClientSecret adsync.Secret `json:"clientSecret,omitzero"`
	// Certificate is a client certificate with its private key, PEM or
	// PKCS#12, as an alternative to ClientSecret. It holds the key, so
	// Config's String, JSON and LogValue leave it out (its length shows).
	Certificate []byte `json:"certificate,omitempty"`
	// CertificatePassword decrypts a PKCS#12 Certificate. Redacted
	// everywhere (adsync.Secret).
	CertificatePassword adsync.Secret `json:"certificatePassword,omitzero"`
	// Cloud selects the national cloud. Empty means CloudPublic.
	Cloud Cloud `json:"cloud,omitempty"`

	// GroupID is the object id (a GUID) of the group whose members are
	// synced (R-SCOPE-3). Required.
	GroupID string `json:"groupId"`
	// DirectMembersOnly reads the group's direct members only. By default
	// membership is transitive: members of nested groups count (R-SCOPE-4).
	DirectMembersOnly bool `json:"directMembersOnly,omitempty"`
	// Properties overrides the Graph property a field is read from
	// (docs/rules.md §5), e.g. {adsync.Title: "department"} or a directory
	// extension "extension_<appid>_costCenter". A collection property gives
	// its first value. Fields not listed use the default map.
	Properties map[adsync.Field]string `json:"properties,omitempty"`

	// MaxRetries is how often a request throttled with 429, or answered
	// 503 or 504, is retried (honouring Retry-After) before the call
	// fails. 0 means DefaultMaxRetries; at most 10.
	MaxRetries int `json:"maxRetries,omitempty"`

	// Credential, when set, supplies the tokens instead of TenantID,
	// ClientID and a secret or certificate: for tests (StaticToken) or a
	// managed identity.
	Credential azcore.TokenCredential `json:"-"`
	// BaseURL overrides the cloud's Graph root (for a test server or a
	// custom cloud), e.g. "http://127.0.0.1:41234/v1.0". Tokens are sent to
	// its host only.
	BaseURL string `json:"baseUrl,omitempty"`
	// Scope overrides the token scope: by default the cloud's, or
	// "<BaseURL's scheme and host>/.default" when BaseURL is set.
	Scope string `json:"scope,omitempty"`
	// AuthorityHost overrides the cloud's sign-in authority (for a test
	// token endpoint or a custom cloud), e.g. "https://127.0.0.1:41234/".
	AuthorityHost string `json:"authorityHost,omitempty"`
	// HTTPClient, when set, is the client whose Transport carries every
	// request, Graph and sign-in (e.g. one that trusts a test server's
	// certificate). The Graph SDK's middleware (retry, redirect) is added
	// around it. Nil means the default transport.
	HTTPClient *http.Client `json:"-"`
	// Logger receives debug and warning records. Nil discards them.
	Logger *slog.Logger `json:"-"`
}

// withDefaults returns c with each optional field left zero set to its
// documented default. New applies it to its own copy once Validate passed;
// the caller's Config is never changed. (ldap.Config and autotask.Config
// fill their defaults the same way.)
func (c Config) withDefaults() Config {
	if c.Cloud == "" {
		c.Cloud = CloudPublic
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	return c
}

var (
	guidPattern     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainPattern   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`)
	propertyPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,127}$`)
)

// Validate checks the configuration without any network call and returns
// a *adsync.ConfigError naming the first bad field, or nil.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &adsync.ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if c.Credential == nil {
		switch {
		case c.TenantID == "":
			return bad("tenantId", "is required: the Directory (tenant) ID from the app registration's Overview page")
		case !guidPattern.MatchString(c.TenantID) && !domainPattern.MatchString(c.TenantID):
			return bad("tenantId", "%s is neither a tenant id (a GUID) nor a domain name", idForMessage(c.TenantID))
		case c.ClientID == "":
			return bad("clientId", "is required: the Application (client) ID from the app registration's Overview page")
		case !guidPattern.MatchString(c.ClientID):
			return bad("clientId", "%s is not an application (client) id: expected a GUID like 00000000-0000-0000-0000-000000000000", idForMessage(c.ClientID))
		case c.ClientSecret.IsZero() && len(c.Certificate) == 0:
			return bad("clientSecret", "is required (or a certificate): create one under the app registration's Certificates & secrets")
		case !c.ClientSecret.IsZero() && len(c.Certificate) > 0:
			return bad("certificate", "give a client secret or a certificate, not both")
		}
		if len(c.Certificate) > 0 {
			if _, _, err := parseCertificate(c.Certificate, c.CertificatePassword.Reveal()); err != nil {
				return bad("certificate", "%v", err)
			}
		}
	}
	if _, ok := c.Cloud.Endpoints(); !ok {
		return bad("cloud", "%q is not a cloud (want %q, %q, %q or %q)", c.Cloud, CloudPublic, CloudUSGov, CloudUSGovDoD, CloudChina)
	}
	if !guidPattern.MatchString(c.GroupID) {
		if c.GroupID == "" {
			return bad("groupId", "is required: the Object ID of the group whose members are synced")
		}
		return bad("groupId", "%q is not a group object id: expected a GUID (the group's Object ID, not its name)", c.GroupID)
	}
	for _, f := range sortedFields(c.Properties) {
		name := "properties." + f.String()
		if !f.Valid() {
			return bad("properties", "unknown field %s", f)
		}
		if p := c.Properties[f]; !propertyPattern.MatchString(p) {
			return bad(name, "%q is not a Graph user property name", p)
		}
	}
	if c.MaxRetries < 0 || c.MaxRetries > 10 {
		return bad("maxRetries", "must be 0 (default %d) to 10, got %d", DefaultMaxRetries, c.MaxRetries)
	}
	if c.BaseURL != "" {
		if err := checkURL(c.BaseURL); err != nil {
			return bad("baseUrl", "%v", err)
		}
	}
	if c.AuthorityHost != "" {
		if u, err := url.Parse(c.AuthorityHost); err != nil || u.Scheme != "https" || u.Host == "" {
			return bad("authorityHost", "%q must be an https URL such as https://login.microsoftonline.com/", c.AuthorityHost)
		}
	}
	return nil
}

// checkURL accepts https URLs, and http ones on the loopback interface
// (test servers): the SDK sends no token elsewhere over plain http.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("%q must use https (plain http only to localhost)", s)
}

func sortedFields(m map[adsync.Field]string) []adsync.Field {
	fs := make([]adsync.Field, 0, len(m))
	for f := range m {
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i] < fs[j] })
	return fs
}

// idChars are the characters of GUIDs and domain names.
var idChars = regexp.MustCompile(`^[0-9A-Za-z{}.-]*$`)

// idForMessage quotes a bad id for a message, unless it holds characters no
// id has: then it may be the client secret, pasted into the wrong field
// (they sit side by side on the portal), and it is not repeated.
func idForMessage(v string) string {
	if idChars.MatchString(v) {
		return strconv.Quote(v)
	}
	return "the value (not shown: it has characters no id has; if it is the client secret, move it to clientSecret)"
}

// String describes the configuration. The secrets print as adsync.Secret
// does ("[redacted]"); the certificate, which holds a private key, as its
// length only.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph.Config{TenantID:%q ClientID:%q ClientSecret:%q", c.TenantID, c.ClientID, c.ClientSecret)
	if len(c.Certificate) > 0 {
		fmt.Fprintf(&b, " Certificate:[redacted %d bytes] CertificatePassword:%q", len(c.Certificate), c.CertificatePassword)
	}
	fmt.Fprintf(&b, " Cloud:%q GroupID:%q DirectMembersOnly:%t", c.Cloud, c.GroupID, c.DirectMembersOnly)
	if len(c.Properties) > 0 {
		b.WriteString(" Properties:map[")
		for i, f := range sortedFields(c.Properties) {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s:%s", f, c.Properties[f])
		}
		b.WriteByte(']')
	}
	if c.BaseURL != "" {
		fmt.Fprintf(&b, " BaseURL:%q", c.BaseURL)
	}
	if c.Credential != nil {
		b.WriteString(" Credential:set")
	}
	b.WriteByte('}')
	return b.String()
}

// GoString is String: fmt would print the certificate's bytes.
func (c Config) GoString() string { return c.String() }

// MarshalJSON encodes the configuration without the certificate; the
// secrets encode as adsync.Secret does ("[redacted]"). Unmarshaling reads
// them all.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config // without the method
	p := plain(c)
	p.Certificate = nil
	return json.Marshal(p)
}

// LogValue logs the configuration without the certificate.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("tenantId", c.TenantID),
		slog.String("clientId", c.ClientID),
		slog.Any("clientSecret", c.ClientSecret),
		slog.Bool("certificate", len(c.Certificate) > 0),
		slog.String("cloud", string(c.Cloud)),
		slog.String("groupId", c.GroupID),
		slog.Bool("transitive", !c.DirectMembersOnly),
	)
}
