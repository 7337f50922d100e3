package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/ldap"
)

// fileConfig is the configuration file as written (YAML, strict: unknown keys
// are refused). Secrets are never written inline: each has a ...Env (the name
// of an environment variable) and a ...File (a file holding only the secret)
// form.
type fileConfig struct {
	Autotask autotaskYAML `yaml:"autotask"`
	// Store is "sqlite:PATH" or "postgres:DSN"; --store and ADSYNC_STORE
	// override it.
	Store    string       `yaml:"store"`
	Schedule scheduleYAML `yaml:"schedule"`
	Orgs     []orgYAML    `yaml:"orgs"`
}

type scheduleYAML struct {
	Interval    time.Duration `yaml:"interval"`
	Parallelism int           `yaml:"parallelism"`
}

type autotaskYAML struct {
	Username                string  `yaml:"username"`
	IntegrationCode         string  `yaml:"integrationCode"`
	Secret                  string  `yaml:"secret"` // refused: inline secret
	SecretEnv               string  `yaml:"secretEnv"`
	SecretFile              string  `yaml:"secretFile"`
	ImpersonationResourceID int64   `yaml:"impersonationResourceId"`
	BaseURL                 string  `yaml:"baseUrl"`
	ZoneLookupURL           string  `yaml:"zoneLookupUrl"`
	BudgetShare             float64 `yaml:"budgetShare"`
	BudgetStop              float64 `yaml:"budgetStop"`
	MaxInFlight             int     `yaml:"maxInFlight"`
}

type orgYAML struct {
	ID               string        `yaml:"id"`
	Name             string        `yaml:"name"`
	CompanyID        int64         `yaml:"companyId"`
	Enabled          *bool         `yaml:"enabled"`
	Fields           []fieldYAML   `yaml:"fields"`
	BillingProductID int64         `yaml:"billingProductId"`
	MaxUsers         int           `yaml:"maxUsers"`
	IncludeDisabled  bool          `yaml:"includeDisabled"`
	EmailFromUPN     bool          `yaml:"emailFromUpn"`
	Guard            guardYAML     `yaml:"guard"`
	FullReadEvery    time.Duration `yaml:"fullReadEvery"`
	LDAP             *ldapYAML     `yaml:"ldap"`
	Azure            *azureYAML    `yaml:"azure"`
}

type guardYAML struct {
	Min     int     `yaml:"min"`
	Percent float64 `yaml:"percent"`
	Off     bool    `yaml:"off"`
}

// fieldYAML is one entry of fields: a field name ("title") or a mapping
// {field: title, source: department}.
type fieldYAML struct {
	Field  string `yaml:"field"`
	Source string `yaml:"source"`
}

func (f *fieldYAML) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		f.Field = n.Value
		return nil
	}
	type plain fieldYAML
	return n.Decode((*plain)(f))
}

type ldapYAML struct {
	URL               string        `yaml:"url"`
	StartTLS          bool          `yaml:"startTLS"`
	BindName          string        `yaml:"bindName"`
	Password          string        `yaml:"password"` // refused: inline secret
	PasswordEnv       string        `yaml:"passwordEnv"`
	PasswordFile      string        `yaml:"passwordFile"`
	BaseDN            string        `yaml:"baseDN"`
	GroupDN           string        `yaml:"groupDN"`
	DirectMembersOnly bool          `yaml:"directMembersOnly"`
	OUs               []string      `yaml:"ous"`
	Filter            string        `yaml:"filter"`
	PageSize          int           `yaml:"pageSize"`
	DialTimeout       time.Duration `yaml:"dialTimeout"`
	Timeout           time.Duration `yaml:"timeout"`
	TLS               ldapTLSYAML   `yaml:"tls"`
}

type ldapTLSYAML struct {
	CA         string `yaml:"ca"`
	ServerName string `yaml:"serverName"`
	Verify     string `yaml:"verify"`
}

type azureYAML struct {
	TenantID                string `yaml:"tenantId"`
	ClientID                string `yaml:"clientId"`
	ClientSecret            string `yaml:"clientSecret"` // refused: inline secret
	ClientSecretEnv         string `yaml:"clientSecretEnv"`
	ClientSecretFile        string `yaml:"clientSecretFile"`
	CertificateFile         string `yaml:"certificateFile"`
	CertificatePasswordEnv  string `yaml:"certificatePasswordEnv"`
	CertificatePasswordFile string `yaml:"certificatePasswordFile"`
	Cloud                   string `yaml:"cloud"`
	GroupID                 string `yaml:"groupId"`
	DirectMembersOnly       bool   `yaml:"directMembersOnly"`
	BaseURL                 string `yaml:"baseUrl"`
	AuthorityHost           string `yaml:"authorityHost"`
	MaxRetries              int    `yaml:"maxRetries"`
}

// Config is a loaded, validated configuration: everything needed to build
// the Autotask client, the sources and the Syncer, secrets resolved.
type Config struct {
	Path     string
	Autotask autotask.Config
	Store    string
	Interval time.Duration
	Parallel int
	Orgs     []OrgSpec
}

// printedConfig is a Config without its methods, with the store's password
// masked: what String, GoString, LogValue and MarshalJSON show. The
// directory and Autotask configurations redact their own secrets.
type printedConfig Config

func (c Config) printed() printedConfig {
	p := printedConfig(c)
	p.Store = redactDSN(c.Store)
	return p
}

// String prints the configuration without any secret.
func (c Config) String() string { return fmt.Sprintf("%+v", c.printed()) }

// GoString is String for %#v: it hides the store's password too.
func (c Config) GoString() string {
	return strings.Replace(fmt.Sprintf("%#v", c.printed()), "cli.printedConfig{", "cli.Config{", 1)
}

// LogValue logs the configuration without any secret.
func (c Config) LogValue() slog.Value { return slog.AnyValue(c.printed()) }

// MarshalJSON encodes the configuration without any secret.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.printed()) }

// OrgSpec is one organization: its adsync configuration and its directory's.
type OrgSpec struct {
	// Index is the organization's position in the file's orgs list.
	Index  int
	Config adsync.OrgConfig
	LDAP   *ldap.Config
	Azure  *graph.Config
}

// InputError is bad input: a configuration that cannot be used. The command
// exits with code 2 and writes nothing.
type InputError struct {
	File  string // the configuration file, "" for a flag
	Line  int    // 0 when unknown
	Field string // the setting's path, e.g. orgs[1].ldap.filter
	Msg   string // what is wrong and how to fix it
}

func (e *InputError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes errors.Is(err, adsync.ErrInvalidConfig) hold.
func (e *InputError) Is(target error) bool { return target == adsync.ErrInvalidConfig }

// loader reads a configuration file. getenv looks up the environment.
type loader struct {
	path   string
	getenv func(string) string
	lines  map[string]int // setting path → line, for messages
}

// LoadConfig reads, decodes and validates the configuration file at path,
// resolving secrets from the environment (getenv) and from files. Every
// problem is an *InputError naming the file, the setting and the fix.
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	l := &loader{path: path, getenv: getenv, lines: map[string]int{}}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &InputError{File: path, Msg: fmt.Sprintf("cannot read the configuration file: %v (give its path with --config or ADSYNC_CONFIG)", unwrapPathError(err))}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, l.yamlError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &InputError{File: path, Msg: "the file is empty: see examples/adsync.yaml for a starting point"}
	}
	root := doc.Content[0]
	if err := l.checkKeys(root, reflect.TypeFor[fileConfig](), ""); err != nil {
		return nil, err
	}
	var fc fileConfig
	if err := root.Decode(&fc); err != nil {
		return nil, l.yamlError(err)
	}
	return l.build(&fc)
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// yamlError turns a decoding error into an InputError with the setting's path
// when its line is known.
func (l *loader) yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if rest, ok := strings.CutPrefix(msg, "unmarshal errors:\n  "); ok {
		msg = rest
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line, msg = n, strings.TrimSpace(rest[i+1:])
			}
		}
	}
	field := ""
	best := 0
	for p, ln := range l.lines {
		if ln == line && (field == "" || len(p) > best) {
			field, best = p, len(p)
		}
	}
	if strings.Contains(msg, "cannot unmarshal") {
		msg += ": check the value's type (a number, true/false, a duration such as 24h, a list)"
	}
	return &InputError{File: l.path, Line: line, Field: field, Msg: msg}
}

// checkKeys walks the YAML tree beside the Go type and refuses unknown keys,
// naming the setting and the known keys. It records each setting's line.
func (l *loader) checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path != "" {
		l.lines[path] = n.Line
	}
	if t == reflect.TypeFor[fieldYAML]() && n.Kind == yaml.ScalarNode {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return &InputError{File: l.path, Line: n.Line, Field: path, Msg: "want a mapping of settings (key: value)"}
		}
		keys := map[string]reflect.StructField{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			keys[name] = f
			names = append(names, name)
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			f, ok := keys[k.Value]
			if !ok {
				msg := fmt.Sprintf("unknown key %q", k.Value)
				if s := suggest(k.Value, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				sort.Strings(names)
				msg += "; the keys here are: " + strings.Join(names, ", ")
				return &InputError{File: l.path, Line: k.Line, Field: p, Msg: msg}
			}
			if seen[k.Value] {
				return &InputError{File: l.path, Line: k.Line, Field: p, Msg: "set twice: keep one"}
			}
			seen[k.Value] = true
			if err := l.checkKeys(v, f.Type, p); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return &InputError{File: l.path, Line: n.Line, Field: path, Msg: "want a list (- item per line)"}
		}
		for i, c := range n.Content {
			if err := l.checkKeys(c, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest returns the known name closest to a misspelt key, if any is close.
func suggest(key string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if strings.EqualFold(n, key) {
			return n
		}
		if d := distance(strings.ToLower(key), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance of two short strings.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func (l *loader) bad(field, format string, args ...any) *InputError {
	return &InputError{File: l.path, Line: l.line(field), Field: field, Msg: fmt.Sprintf(format, args...)}
}

// line returns the line of a setting, or of its nearest parent that has one.
func (l *loader) line(field string) int {
	for field != "" {
		if n, ok := l.lines[field]; ok {
			return n
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return 0
}

// fromConfigError re-homes a package's *adsync.ConfigError under a setting
// path of the file, translating secret settings to their Env/File forms.
func (l *loader) fromConfigError(prefix string, err error, rename map[string]string) error {
	var ce *adsync.ConfigError
	if !errors.As(err, &ce) {
		return l.bad(strings.TrimSuffix(prefix, "."), "%v", err)
	}
	field := strings.TrimPrefix(ce.Field, "autotask.")
	if r, ok := rename[field]; ok {
		field = r
	}
	return l.bad(prefix+field, "%s", ce.Problem)
}

// envName is what an environment variable's name may be, portably.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secret resolves a secret given as an environment variable's name or a
// file's path, refusing one written inline.
func (l *loader) secret(path, name, inline, env, file string, required bool) (string, error) {
	if inline != "" {
		return "", l.bad(join(path, name), "secrets are not written in the configuration file; use %sEnv: VARIABLE (an environment variable) or %sFile: PATH (a file holding only the secret)", name, name)
	}
	switch {
	case env != "" && file != "":
		return "", l.bad(join(path, name+"Env"), "give %sEnv or %sFile, not both", name, name)
	case env != "" && !envName.MatchString(env):
		// Not a variable name: most likely the secret itself, pasted here.
		// Never repeat it.
		return "", l.bad(join(path, name+"Env"), "must be the name of an environment variable (letters, digits and _, e.g. ADSYNC_%s), not the secret itself: remove the value from this file, and if it was a real secret, consider it exposed and renew it", strings.ToUpper(name))
	case env != "":
		v := l.getenv(env)
		if v == "" {
			return "", l.bad(join(path, name+"Env"), "the environment variable %s is not set or empty: export it, or use %sFile", env, name)
		}
		return v, nil
	case file != "":
		file = l.rel(file)
		b, err := os.ReadFile(file)
		if err != nil {
			return "", l.bad(join(path, name+"File"), "cannot read the secret file %s: %v (check the path and that this user may read it)", file, unwrapPathError(err))
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", l.bad(join(path, name+"File"), "the secret file %s is empty", file)
		}
		return v, nil
	}
	if required {
		return "", l.bad(join(path, name+"Env"), "required: set %sEnv: VARIABLE (an environment variable holding the secret) or %sFile: PATH", name, name)
	}
	return "", nil
}

// rel resolves a path relative to the configuration file's directory.
func (l *loader) rel(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(l.path), p)
}

func (l *loader) build(fc *fileConfig) (*Config, error) {
	cfg := &Config{Path: l.path, Store: fc.Store, Interval: fc.Schedule.Interval, Parallel: fc.Schedule.Parallelism}
	if cfg.Interval < 0 {
		return nil, l.bad("schedule.interval", "must be positive (default 24h), got %s", cfg.Interval)
	}
	if cfg.Parallel < 0 {
		return nil, l.bad("schedule.parallelism", "must be positive (default %d), got %d", adsync.DefaultParallelism, cfg.Parallel)
	}
	a := fc.Autotask
	secret, err := l.secret("autotask", "secret", a.Secret, a.SecretEnv, a.SecretFile, true)
	if err != nil {
		return nil, err
	}
	cfg.Autotask = autotask.Config{IntegrationCode: a.IntegrationCode, Username: a.Username, Secret: secret,
		ImpersonationResourceID: a.ImpersonationResourceID, BaseURL: a.BaseURL, ZoneLookupURL: a.ZoneLookupURL,
		BudgetShare: a.BudgetShare, BudgetStop: a.BudgetStop, MaxInFlight: a.MaxInFlight}
	if err := cfg.Autotask.Validate(); err != nil {
		return nil, l.fromConfigError("autotask.", err, map[string]string{"secret": "secretEnv"})
	}
	if len(fc.Orgs) == 0 {
		return nil, l.bad("orgs", "no organization is configured: add one under orgs (id, companyId, and ldap or azure settings)")
	}
	configs := make([]adsync.OrgConfig, len(fc.Orgs))
	for i := range fc.Orgs {
		spec, err := l.org(i, &fc.Orgs[i])
		if err != nil {
			return nil, err
		}
		cfg.Orgs = append(cfg.Orgs, spec)
		configs[i] = spec.Config
	}
	if err := adsync.ValidateOrgs(configs); err != nil { // R-SCOPE-2
		return nil, l.fromConfigError("", err, nil)
	}
	return cfg, nil
}

func (l *loader) org(i int, o *orgYAML) (OrgSpec, error) {
	p := "orgs[" + strconv.Itoa(i) + "]"
	enabled := o.Enabled == nil || *o.Enabled
	oc := adsync.OrgConfig{ID: o.ID, Name: o.Name, CompanyID: o.CompanyID, Enabled: enabled,
		BillingProductID: o.BillingProductID, MaxUsers: o.MaxUsers, IncludeDisabled: o.IncludeDisabled,
		EmailFromUPN: o.EmailFromUPN, FullReadEvery: o.FullReadEvery,
		Guard: adsync.Guard{Min: o.Guard.Min, Percent: o.Guard.Percent, Off: o.Guard.Off}}
	if o.ID == "" {
		return OrgSpec{}, l.bad(p+".id", "required: a short stable key for the organization, e.g. contoso")
	}
	if o.CompanyID == 0 {
		return OrgSpec{}, l.bad(p+".companyId", "required: the Autotask company id (CRM > Companies; the id in the company page's URL)")
	}
	for j, f := range o.Fields {
		field, err := adsync.ParseField(f.Field)
		if err != nil {
			names := make([]string, 0, adsync.NumFields)
			for _, f := range adsync.AllFields() {
				names = append(names, f.String())
			}
			return OrgSpec{}, l.bad(fmt.Sprintf("%s.fields[%d]", p, j), "unknown field %q; the fields are: %s", f.Field, strings.Join(names, ", "))
		}
		oc.Fields = append(oc.Fields, adsync.FieldSpec{Field: field, Source: f.Source})
	}
	spec := OrgSpec{Index: i}
	switch {
	case o.LDAP != nil && o.Azure != nil:
		return OrgSpec{}, l.bad(p+".azure", "an organization has one directory: give ldap or azure, not both")
	case o.LDAP != nil:
		oc.Directory = adsync.DirectoryLDAP
		lc, err := l.ldap(p+".ldap", o.LDAP, &oc)
		if err != nil {
			return OrgSpec{}, err
		}
		spec.LDAP = lc
	case o.Azure != nil:
		oc.Directory = adsync.DirectoryAzure
		ac, err := l.azure(p+".azure", o.Azure, &oc)
		if err != nil {
			return OrgSpec{}, err
		}
		spec.Azure = ac
	default:
		return OrgSpec{}, l.bad(p, "no directory: add ldap (Active Directory over LDAPS) or azure (Entra ID) settings")
	}
	if err := oc.Validate(); err != nil {
		return OrgSpec{}, l.fromConfigError(p+".", err, nil)
	}
	spec.Config = oc
	return spec, nil
}

func (l *loader) ldap(p string, y *ldapYAML, oc *adsync.OrgConfig) (*ldap.Config, error) {
	pw, err := l.secret(p, "password", y.Password, y.PasswordEnv, y.PasswordFile, true)
	if err != nil {
		return nil, err
	}
	ca := y.TLS.CA
	if ca != "" && !strings.Contains(ca, "-----BEGIN") {
		ca = l.rel(ca)
	}
	c := &ldap.Config{URL: y.URL, StartTLS: y.StartTLS, BindName: y.BindName, Password: adsync.NewSecret(pw),
		TLS:         ldap.TLSConfig{CA: ca, ServerName: y.TLS.ServerName, Verify: ldap.VerifyMode(y.TLS.Verify)},
		DialTimeout: y.DialTimeout, Timeout: y.Timeout, BaseDN: y.BaseDN, GroupDN: y.GroupDN,
		DirectMembersOnly: y.DirectMembersOnly, OUs: y.OUs, Filter: y.Filter, PageSize: y.PageSize,
		Attributes: oc.SourceOverrides()}
	if y.BaseDN == "" {
		return nil, l.bad(p+".baseDN", "required: the subtree to search, e.g. DC=corp,DC=example")
	}
	if err := c.Validate(); err != nil {
		return nil, l.fromConfigError(p+".", err, map[string]string{"password": "passwordEnv", "attributes": "fields"})
	}
	return c, nil
}

func (l *loader) azure(p string, y *azureYAML, oc *adsync.OrgConfig) (*graph.Config, error) {
	secret, err := l.secret(p, "clientSecret", y.ClientSecret, y.ClientSecretEnv, y.ClientSecretFile, false)
	if err != nil {
		return nil, err
	}
	var cert []byte
	if y.CertificateFile != "" {
		if cert, err = os.ReadFile(l.rel(y.CertificateFile)); err != nil {
			return nil, l.bad(p+".certificateFile", "cannot read the certificate %s: %v", l.rel(y.CertificateFile), unwrapPathError(err))
		}
	}
	certPW, err := l.secret(p, "certificatePassword", "", y.CertificatePasswordEnv, y.CertificatePasswordFile, false)
	if err != nil {
		return nil, err
	}
	if secret == "" && cert == nil {
		return nil, l.bad(p+".clientSecretEnv", "required: clientSecretEnv: VARIABLE or clientSecretFile: PATH (the secret's value from Certificates & secrets), or certificateFile")
	}
	a := &graph.Config{TenantID: y.TenantID, ClientID: y.ClientID, ClientSecret: adsync.NewSecret(secret), Certificate: cert,
		CertificatePassword: adsync.NewSecret(certPW), Cloud: graph.Cloud(y.Cloud), GroupID: y.GroupID, DirectMembersOnly: y.DirectMembersOnly,
		BaseURL: y.BaseURL, AuthorityHost: y.AuthorityHost, MaxRetries: y.MaxRetries, Properties: oc.SourceOverrides()}
	if err := a.Validate(); err != nil {
		return nil, l.fromConfigError(p+".", err, map[string]string{"clientSecret": "clientSecretEnv", "certificate": "certificateFile",
			"properties": "fields"})
	}
	return a, nil
}
