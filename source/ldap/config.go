package ldap

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/psasync/adsync"
)

// Defaults and limits of Config.
const (
	// DefaultPageSize is the LDAP page size when Config.PageSize is 0.
	DefaultPageSize = 500
	// MaxPageSize is the largest LDAP page size: Active Directory's default
	// MaxPageSize policy. Larger pages are cut to it by AD anyway.
	MaxPageSize = 1000
	// DefaultDialTimeout bounds connecting and the TLS handshake.
	DefaultDialTimeout = 10 * time.Second
	// DefaultTimeout bounds each LDAP request (bind, one page of a search).
	DefaultTimeout = 2 * time.Minute
)

// VerifyMode says how the server's certificate is checked.
type VerifyMode string

// The verification modes.
const (
	// VerifyFull checks the certificate chain against the CA bundle (the
	// system roots when none is given) and that the certificate names the
	// server (TLS.ServerName, else the host of the URL). The default.
	VerifyFull VerifyMode = "full"
	// VerifyChainOnly checks the chain but not the host name: for AD
	// certificates without a subjectAltName (Samba's) or DCs reached by IP.
	// Give the CA bundle that signed the DC's certificate.
	VerifyChainOnly VerifyMode = "chain-only"
	// VerifyInsecure checks nothing. Every connection logs a warning and the
	// TLS status is "untrusted". Anyone on the path can read the password.
	VerifyInsecure VerifyMode = "insecure"
)

// TLSConfig configures certificate verification.
type TLSConfig struct {
	// CA is the CA bundle that signed the DC's certificate: a file name, or
	// the PEM text itself (anything containing "-----BEGIN"). Empty: the
	// system roots.
	CA string `json:"ca,omitempty"`
	// ServerName overrides the host name checked in VerifyFull mode and sent
	// as SNI, e.g. the DC's DNS name when the URL holds an IP address.
	ServerName string `json:"serverName,omitempty"`
	// Verify is the verification mode; empty means VerifyFull.
	Verify VerifyMode `json:"verify,omitempty"`
}

// Config configures a Source. The zero value of each optional field means
// its documented default. Build a Source with New, which validates it.
type Config struct {
	// URL is the DC: ldaps://host[:636] (port 636 by default), or
	// ldap://host[:389] with StartTLS. Required.
	URL string `json:"url"`
	// StartTLS upgrades an ldap:// connection with StartTLS. Not allowed
	// with ldaps://.
	StartTLS bool `json:"startTLS,omitempty"`
	// AllowPlaintext permits ldap:// without StartTLS: the password and
	// every user's data travel in clear text. For tests only; AD refuses
	// simple binds over plain LDAP by default anyway (result 8).
	AllowPlaintext bool `json:"allowPlaintext,omitempty"`
	// BindName is the account to bind as: a DN
	// (CN=svc-sync,OU=Service,DC=corp,DC=example), a UPN
	// (svc-sync@corp.example) or DOMAIN\user. Required.
	BindName string `json:"bindName"`
	// Password is the bind password. Required. Redacted everywhere.
	Password adsync.Secret `json:"password,omitzero"`
	// TLS configures certificate verification.
	TLS TLSConfig `json:"tls,omitzero"`
	// DialTimeout bounds connecting and the TLS handshake; 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration `json:"dialTimeout,omitempty"`
	// Timeout bounds each LDAP request (a bind, one page of a search); 0
	// means DefaultTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`

	// BaseDN is the subtree searched, e.g. DC=corp,DC=example. Required.
	BaseDN string `json:"baseDN"`
	// GroupDN, when set, limits the scope to members of the group: nested
	// members too, unless DirectMembersOnly (R-SCOPE-5).
	GroupDN string `json:"groupDN,omitempty"`
	// DirectMembersOnly counts only the group's direct members.
	DirectMembersOnly bool `json:"directMembersOnly,omitempty"`
	// OUs, when set, limits the scope to users under any of these OUs
	// (subtrees). Each must be under BaseDN.
	OUs []string `json:"ous,omitempty"`
	// Filter is a raw LDAP filter ANDed with the rest, e.g.
	// (department=Sales). It is compiled by Validate.
	Filter string `json:"filter,omitempty"`
	// PageSize is the LDAP page size, 1 to MaxPageSize; 0 means
	// DefaultPageSize. Users are handed over in pages of at most
	// adsync.MaxPageSize whatever this is.
	PageSize int `json:"pageSize,omitempty"`
	// Attributes overrides the LDAP attribute a field is read from (the
	// default map is docs/rules.md §5; see DefaultAttributes), for example
	// {MiddleInitial: "middleName"}. adsync.OrgConfig.SourceOverrides gives
	// it from an organization's configuration.
	Attributes map[adsync.Field]string `json:"attributes,omitempty"`

	// Logger receives connection events (and the warning of
	// VerifyInsecure). Nil discards them.
	Logger *slog.Logger `json:"-"`
}

// DefaultAttributes returns the default LDAP attribute of each field
// (docs/rules.md §5). AddressLine and AddressLine2 are the first and the
// following lines of streetAddress.
func DefaultAttributes() map[adsync.Field]string {
	return map[adsync.Field]string{
		adsync.FirstName:      "givenName",
		adsync.LastName:       "sn",
		adsync.MiddleInitial:  "initials",
		adsync.Email:          "mail",
		adsync.Title:          "title",
		adsync.Phone:          "telephoneNumber",
		adsync.MobilePhone:    "mobile",
		adsync.Fax:            "facsimileTelephoneNumber",
		adsync.AlternatePhone: "homePhone",
		adsync.AddressLine:    "streetAddress",
		adsync.AddressLine2:   "streetAddress",
		adsync.City:           "l",
		adsync.State:          "st",
		adsync.ZipCode:        "postalCode",
		adsync.CountryID:      "c",
		adsync.RoomNumber:     "physicalDeliveryOfficeName",
	}
}

// String describes the configuration: the password prints as adsync.Secret
// does, and a password written into the URL is masked.
func (c Config) String() string {
	return fmt.Sprintf("ldap.Config{URL: %q, BindName: %q, Password: %q, BaseDN: %q, GroupDN: %q, TLS: %s}",
		urlForDisplay(c.URL), c.BindName, c.Password, c.BaseDN, c.GroupDN, c.withDefaults().TLS.Verify)
}

// MarshalJSON encodes the configuration with any password written into the
// URL masked; the password encodes as adsync.Secret does.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config // without the method
	p := plain(c)
	p.URL = urlForDisplay(c.URL)
	return json.Marshal(p)
}

// urlForDisplay masks a password written into a URL
// (ldaps://user:password@host, as some tools take it): the URL shows in
// messages and in the printed configuration. It works on the text, so that
// a URL that does not parse is masked too.
func urlForDisplay(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	at := strings.LastIndex(rest, "@") // a raw "@" in the password: mask up to the last
	if at < 0 {
		return s
	}
	if c := strings.Index(rest[:at], ":"); c >= 0 {
		return s[:i+3] + rest[:c] + ":xxxxx" + rest[at:]
	}
	return s
}

// GoString is String, so %#v masks the URL too.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration without the password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", urlForDisplay(c.URL)), slog.String("bind", c.BindName),
		slog.String("baseDN", c.BaseDN), slog.String("groupDN", c.GroupDN),
		slog.String("tls", string(c.withDefaults().TLS.Verify)))
}

// withDefaults returns c with each optional field left zero set to its
// documented default. New applies it to its own copy once Validate passed;
// the caller's Config is never changed. (graph.Config and autotask.Config
// fill their defaults the same way.)
func (c Config) withDefaults() Config {
	if c.TLS.Verify == "" {
		c.TLS.Verify = VerifyFull
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

func bad(field, format string, args ...any) error {
	return &adsync.ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Validate checks the configuration without connecting: the URL and TLS
// settings, the DNs (parsed), the raw filter (compiled), the page size and
// the attribute overrides. It returns an *adsync.ConfigError naming the
// first bad field, or nil.
func (c *Config) Validate() error {
	_, err := c.compile()
	return err
}

// compiled is a validated Config, ready to connect and search.
type compiled struct {
	cfg        Config
	scheme     string
	hostPort   string
	host       string
	roots      *x509.CertPool // nil: system roots
	bases      []string       // search bases: the OUs, or BaseDN
	filter     string         // the full user filter
	attrs      map[adsync.Field]string
	attrList   []string // attributes requested
	scopeLabel string   // identifies the scope in incremental cursors
	log        *slog.Logger
}

func (c *Config) compile() (*compiled, error) {
	k := &compiled{cfg: c.withDefaults(), log: c.Logger}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(strings.TrimSpace(c.URL))
	shown := urlForDisplay(c.URL) // never the password some write into the URL
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text repeats the URL
	}
	switch {
	case c.URL == "":
		return nil, bad("url", "required: the DC as ldaps://host[:636]")
	case err != nil:
		return nil, bad("url", "%q is not a URL (want ldaps://host[:636]): %v", shown, err)
	case u.Host == "" || u.Hostname() == "":
		return nil, bad("url", "%q has no host (want ldaps://host[:636])", shown)
	case u.User != nil:
		return nil, bad("url", "%q holds credentials: give only ldaps://host[:port], the account in bindName and the password in password", shown)
	case u.Path != "" && u.Path != "/" || u.RawQuery != "":
		return nil, bad("url", "%q: give only ldaps://host[:port]; the base DN and the filter have settings of their own", shown)
	}
	k.scheme = strings.ToLower(u.Scheme)
	k.host = u.Hostname()
	port := u.Port()
	switch k.scheme {
	case "ldaps":
		if c.StartTLS {
			return nil, bad("startTLS", "StartTLS is for ldap:// URLs; ldaps:// is TLS from the start")
		}
		if port == "" {
			port = "636"
		}
	case "ldap":
		if !c.StartTLS && !c.AllowPlaintext {
			return nil, bad("url", "%q is plain LDAP: the password and user data would travel unencrypted; use ldaps://%s or set startTLS (allowPlaintext exists for tests only)", shown, u.Host)
		}
		if port == "" {
			port = "389"
		}
	default:
		return nil, bad("url", "scheme %q is not supported (want ldaps:// or ldap:// with StartTLS)", u.Scheme)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return nil, bad("url", "port %q is not a port number", port)
	}
	k.hostPort = net.JoinHostPort(k.host, port)

	if strings.TrimSpace(c.BindName) == "" {
		return nil, bad("bindName", "required: a DN, a UPN (user@domain) or DOMAIN\\user")
	}
	if c.Password.IsZero() {
		// go-ldap would make an unauthenticated bind, which AD accepts and
		// which then reads nothing: refuse it here.
		return nil, bad("password", "required (an empty password makes an anonymous bind)")
	}
	switch k.cfg.TLS.Verify {
	case VerifyFull, VerifyChainOnly, VerifyInsecure:
	default:
		return nil, bad("tls.verify", "%q is not a mode (want %q, %q or %q)", c.TLS.Verify, VerifyFull, VerifyChainOnly, VerifyInsecure)
	}
	if c.TLS.CA != "" {
		if k.roots, err = loadCA(c.TLS.CA); err != nil {
			return nil, bad("tls.ca", "%v", err)
		}
	}
	if k.cfg.TLS.Verify == VerifyChainOnly && k.roots == nil {
		return nil, bad("tls.ca", "chain-only verification needs the CA that signed the DC's certificate")
	}
	if c.DialTimeout < 0 {
		return nil, bad("dialTimeout", "must be positive (0 for the default %s), got %s", DefaultDialTimeout, c.DialTimeout)
	}
	if c.Timeout < 0 {
		return nil, bad("timeout", "must be positive (0 for the default %s), got %s", DefaultTimeout, c.Timeout)
	}
	if c.PageSize < 0 || c.PageSize > MaxPageSize {
		return nil, bad("pageSize", "must be between 1 and %d (0 for the default %d), got %d", MaxPageSize, DefaultPageSize, c.PageSize)
	}

	base, err := parseDN("baseDN", c.BaseDN, true)
	if err != nil {
		return nil, err
	}
	if _, err := parseDN("groupDN", c.GroupDN, false); err != nil {
		return nil, err
	}
	k.bases, err = ouBases(base, c.OUs)
	if err != nil {
		return nil, err
	}
	if k.bases == nil {
		k.bases = []string{c.BaseDN}
	}
	if c.Filter != "" {
		f := strings.TrimSpace(c.Filter)
		if !strings.HasPrefix(f, "(") {
			f = "(" + f + ")"
		}
		if _, err := ldap.CompileFilter(f); err != nil {
			return nil, bad("filter", "%q is not a valid LDAP filter: %v", c.Filter, filterProblem(err))
		}
		k.cfg.Filter = f
	}
	k.attrs = DefaultAttributes()
	for f, a := range c.Attributes {
		if !f.Valid() {
			return nil, bad("attributes", "unknown field %s", f)
		}
		if !attributeName(a) {
			return nil, bad("attributes."+f.String(), "%q is not an LDAP attribute name (a letter, then letters, digits or '-')", a)
		}
		k.attrs[f] = a
	}
	k.filter = userFilter(&k.cfg)
	k.attrList = attributeList(k.attrs)
	k.scopeLabel = strings.Join(append([]string{k.filter}, k.bases...), "|")
	return k, nil
}

func filterProblem(err error) string {
	var le *ldap.Error
	if errorsAs(err, &le) && le.Err != nil {
		return strings.TrimPrefix(le.Err.Error(), "ldap: ")
	}
	return err.Error()
}

func parseDN(field, s string, required bool) (*ldap.DN, error) {
	if strings.TrimSpace(s) == "" {
		if required {
			return nil, bad(field, "required, e.g. DC=corp,DC=example")
		}
		return nil, nil
	}
	dn, err := ldap.ParseDN(s)
	if err != nil || len(dn.RDNs) == 0 {
		return nil, bad(field, "%q is not a distinguished name (e.g. OU=Staff,DC=corp,DC=example): %v", s, err)
	}
	return dn, nil
}

// ouBases parses the OUs, checks that each is under base, and drops those
// under another listed OU, so that one search per OU never delivers a user
// twice.
func ouBases(base *ldap.DN, ous []string) ([]string, error) {
	type ou struct {
		s  string
		dn *ldap.DN
	}
	var parsed []ou
	for i, s := range ous {
		field := "ous[" + strconv.Itoa(i) + "]"
		dn, err := parseDN(field, s, true)
		if err != nil {
			return nil, err
		}
		if !base.EqualFold(dn) && !base.AncestorOfFold(dn) {
			return nil, bad(field, "%q is not under the base DN %q", s, base.String())
		}
		parsed = append(parsed, ou{s, dn})
	}
	var bases []string
	for i, o := range parsed {
		covered := false
		for j, p := range parsed {
			if i != j && (p.dn.AncestorOfFold(o.dn) || j < i && p.dn.EqualFold(o.dn)) {
				covered = true
				break
			}
		}
		if !covered {
			bases = append(bases, o.s)
		}
	}
	return bases, nil
}

func attributeName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-'):
		default:
			return false
		}
	}
	return true
}

// loadCA reads a PEM bundle from a file, or from the text itself.
func loadCA(s string) (*x509.CertPool, error) {
	pemBytes := []byte(s)
	if !strings.Contains(s, "-----BEGIN") {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("cannot read the CA bundle: %v", err)
		}
		pemBytes = b
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := pemBytes; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			hint := ""
			if strings.Contains(err.Error(), "negative serial") {
				hint = " (Go refuses negative serial numbers, which Samba's self-made CA has half the time: make a new one, or run with GODEBUG=x509negativeserial=1)"
			}
			return nil, fmt.Errorf("certificate %d of the CA bundle cannot be parsed: %v%s", n+1, err, hint)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("no PEM certificate found (give a file holding the CA certificate, or the PEM text)")
	}
	return pool, nil
}

// Filter pieces (docs/directories.md B5).
const (
	filterUsers = "(objectCategory=person)(objectClass=user)"
	ruleInChain = "1.2.840.113556.1.4.1941"
)

// userFilter composes the scope filter (R-SCOPE-5). The group DN is
// escaped; the raw filter is inserted as written (it is a filter).
func userFilter(c *Config) string {
	var b strings.Builder
	b.WriteString("(&")
	b.WriteString(filterUsers)
	if c.GroupDN != "" {
		if c.DirectMembersOnly {
			b.WriteString("(memberOf=")
		} else {
			b.WriteString("(memberOf:" + ruleInChain + ":=")
		}
		b.WriteString(ldap.EscapeFilter(c.GroupDN))
		b.WriteString(")")
	}
	b.WriteString(c.Filter)
	b.WriteString(")")
	return b.String()
}

// attributeList is the attributes a read asks for: the mapped ones plus
// those the source itself needs.
func attributeList(attrs map[adsync.Field]string) []string {
	list := []string{"objectGUID", "userAccountControl", "userPrincipalName", "cn", "displayName"}
	seen := map[string]bool{}
	for _, a := range list {
		seen[strings.ToLower(a)] = true
	}
	for f := adsync.Field(0); f < adsync.NumFields; f++ {
		a := attrs[f]
		if a != "" && !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			list = append(list, a)
		}
	}
	return list
}
