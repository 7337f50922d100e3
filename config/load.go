package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
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
	"github.com/psasync/adsync/notify"
)

// fileConfig is the configuration file as written (YAML, strict: unknown keys
// are refused). Secrets are never written inline: each has a ...Env (the name
// of an environment variable) and a ...File (a file holding only the secret)
// form. An organization's directory is a key named after a registered
// directory kind (ldap, azure, see RegisterDirectory).
type fileConfig struct {
	Autotask autotaskYAML `yaml:"autotask"`
	// Store is "sqlite:PATH" or "postgres:DSN"; --store and ADSYNC_STORE
	// override it.
	Store    string       `yaml:"store"`
	Schedule scheduleYAML `yaml:"schedule"`
	Orgs     []orgYAML    `yaml:"orgs"`
	// HTTP configures the admin console of serve; Alerts the alert
	// channels (package notify); Metrics the listener for /metrics,
	// /healthz and /readyz (serve.go).
	HTTP    httpYAML           `yaml:"http"`
	Alerts  *notify.FileConfig `yaml:"alerts"`
	Metrics metricsYAML        `yaml:"metrics"`
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
	ExemptUDF               string  `yaml:"exemptUdf"`
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
	// Directories holds the keys that are not settings of the
	// organization: its directory, under its kind's name.
	Directories map[string]yaml.Node `yaml:",inline"`
	// The safety settings: R-DEACT-7, R-DEACT-8, R-FIELD-9.
	DeactivateAfter days   `yaml:"deactivateAfter"`
	DisabledAtOnce  bool   `yaml:"disabledAtOnce"`
	AutotaskEdits   string `yaml:"autotaskEdits"`
}

type guardYAML struct {
	Min     int     `yaml:"min"`
	Percent float64 `yaml:"percent"`
	Off     bool    `yaml:"off"`
	Window  days    `yaml:"window"` // R-DEACT-6
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

// Config is a loaded, validated configuration: everything needed to build
// the Autotask client, the directory sources and the history store, secrets
// resolved. Build them with Store, Orgs and History.
type Config struct {
	// Path is the file the configuration was loaded from; relative paths
	// in it are relative to its directory.
	Path string
	// Autotask configures the Autotask client (Logger and HTTPClient come
	// from the Options given to Load).
	Autotask autotask.Config
	// Store is the history store as written (store:), "" when not set:
	// "sqlite:PATH" or "postgres:DSN".
	Store string
	// Interval and Parallel are the schedule: 0 means the Scheduler's
	// defaults.
	Interval time.Duration
	Parallel int
	// Organizations are the organizations, in the file's order.
	Organizations []Org
	// HTTP is the admin console's section.
	HTTP HTTP
	// Alerts configure serve's alerts (without the store), nil for none.
	// Never printed: its channels hold secrets.
	Alerts *notify.Config `json:"-"`
	// MetricsListen is the address serve answers /metrics, /healthz and
	// /readyz on, "" for none.
	MetricsListen string

	opts      Options
	storeLine int            // the line of store:, for messages
	lines     map[string]int // the line of each setting, for messages
}

// printedConfig is a Config without its methods, with the store's password
// masked: what String, GoString, LogValue and MarshalJSON show. The
// directory and Autotask configurations redact their own secrets.
type printedConfig struct {
	Path          string
	Autotask      autotask.Config
	Store         string
	Interval      time.Duration
	Parallel      int
	Organizations []Org
}

func (c Config) printed() printedConfig {
	return printedConfig{Path: c.Path, Autotask: c.Autotask, Store: RedactDSN(c.Store), Interval: c.Interval,
		Parallel: c.Parallel, Organizations: c.Organizations}
}

// String prints the configuration without any secret.
func (c Config) String() string { return fmt.Sprintf("%+v", c.printed()) }

// GoString is String for %#v: it hides the store's password too.
func (c Config) GoString() string {
	return strings.Replace(fmt.Sprintf("%#v", c.printed()), "config.printedConfig{", "config.Config{", 1)
}

// LogValue logs the configuration without any secret.
func (c Config) LogValue() slog.Value { return slog.AnyValue(c.printed()) }

// MarshalJSON encodes the configuration without any secret.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.printed()) }

// Org is one organization: its adsync configuration and its directory's.
type Org struct {
	// Index is the organization's position in the file's orgs list.
	Index  int
	Config adsync.OrgConfig
	// Directory is the organization's directory section, built by its
	// kind (see RegisterDirectory): *LDAP for ldap.
	Directory Directory
}

// Error is a configuration that cannot be used, naming the file, the line,
// the setting and the fix. errors.Is(err, adsync.ErrInvalidConfig) holds.
type Error struct {
	File  string // the configuration file, "" for a flag
	Line  int    // 0 when unknown
	Field string // the setting's path in the file, e.g. orgs[1].ldap.filter
	Msg   string // what is wrong and how to fix it
}

func (e *Error) Error() string {
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
func (e *Error) Is(target error) bool { return target == adsync.ErrInvalidConfig }

// Options configure Load. The zero value (or nil) reads the process's
// environment and logs nothing.
type Options struct {
	// Getenv looks up the environment variables named by ...Env settings
	// (default os.Getenv).
	Getenv func(string) string
	// Logger is given to the Autotask client, the sources and the history
	// store (default: discard).
	Logger *slog.Logger
	// HTTPClient, when set, carries the Autotask client's and the HTTP
	// directories' requests (tests: emulators with self-signed
	// certificates).
	HTTPClient *http.Client
	// OrgsOnly loads what reading the history needs and nothing that
	// connects: secrets are not resolved and no secret, certificate or CA
	// file is read (the rest of the file is validated as usual);
	// ContactStore and Orgs then refuse. For read-only tools (status,
	// history).
	OrgsOnly bool
}

// loader reads a configuration file. getenv looks up the environment.
type loader struct {
	path     string
	getenv   func(string) string
	lines    map[string]int // setting path → line, for messages
	orgsOnly bool
	// missing are the secrets that could not be resolved: all are
	// reported at once, after the rest of the file was checked.
	missing Errors
}

// unresolved stands for a secret that was not resolved (OrgsOnly, or
// missing and reported at the end), so that the rest of the file is still
// validated. It never reaches a client: Load fails, or ContactStore and
// Orgs refuse.
const unresolved = "(unresolved secret)"

// Errors are several problems found at once, such as every missing
// secret. errors.Is(err, adsync.ErrInvalidConfig) holds.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors, for errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Load reads, decodes and validates the configuration file at path,
// resolving secrets from the environment and from files. It does no other
// I/O: nothing is contacted, no history is opened. Every problem is an
// *Error naming the file, the line, the setting and the fix. opts may be
// nil.
func Load(path string, opts *Options) (*Config, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	l := &loader{path: path, getenv: o.Getenv, lines: map[string]int{}, orgsOnly: o.OrgsOnly}
	cfg, err := l.load()
	if err != nil {
		return nil, err
	}
	switch len(l.missing) {
	case 0:
	case 1:
		return nil, l.missing[0]
	default:
		return nil, l.missing
	}
	cfg.opts = o
	return cfg, nil
}

func (l *loader) load() (*Config, error) {
	path := l.path
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read the configuration file: %v", unwrapPathError(err))}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // nothing but blanks and comments
			return nil, &Error{File: path, Msg: "the file is empty: see examples/adsync.yaml for a starting point"}
		}
		return nil, l.yamlError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: path, Msg: "the file is empty: see examples/adsync.yaml for a starting point"}
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

// unwrapPathError returns the reason of an *os.PathError, whose path the
// message names already.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// yamlError turns a decoding error into an Error with the setting's path
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
	return &Error{File: l.path, Line: line, Field: field, Msg: msg}
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
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		// YAML decoding truncates a float into an integer: companyId: 17.4
		// would sync company 17.
		if n.Kind == yaml.ScalarNode && n.Tag == "!!float" {
			return &Error{File: l.path, Line: n.Line, Field: path, Msg: fmt.Sprintf("want a whole number, got %s", n.Value)}
		}
	case reflect.Float32, reflect.Float64:
		// .nan compares false with every bound, so no range check would
		// refuse it: budgetStop: .nan would never stop.
		if n.Kind == yaml.ScalarNode && n.Tag == "!!float" {
			if nonFinite.MatchString(n.Value) {
				return &Error{File: l.path, Line: n.Line, Field: path, Msg: fmt.Sprintf("want a finite number, got %s", n.Value)}
			}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return &Error{File: l.path, Line: n.Line, Field: path, Msg: "want a mapping of settings (key: value)"}
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
		// An organization's directory is a key named after its kind.
		withDirectory := t == reflect.TypeFor[orgYAML]()
		if withDirectory {
			names = append(names, kindNames()...)
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			f, ok := keys[k.Value]
			if !ok && withDirectory {
				if kind, ok := directoryKind(k.Value); ok {
					if err := l.checkKeys(v, reflect.TypeOf(kind.Settings()), p); err != nil {
						return err
					}
					continue
				}
				if pkg, ok := knownKinds[k.Value]; ok {
					return &Error{File: l.path, Line: k.Line, Field: p, Msg: fmt.Sprintf(
						"this program cannot read %s directories: it must import _ %q", k.Value, pkg)}
				}
			}
			if !ok {
				msg := fmt.Sprintf("unknown key %q", k.Value)
				if s := suggest(k.Value, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				sort.Strings(names)
				msg += "; the keys here are: " + strings.Join(names, ", ")
				return &Error{File: l.path, Line: k.Line, Field: p, Msg: msg}
			}
			if seen[k.Value] {
				return &Error{File: l.path, Line: k.Line, Field: p, Msg: "set twice: keep one"}
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
			return &Error{File: l.path, Line: n.Line, Field: path, Msg: "want a list (- item per line)"}
		}
		for i, c := range n.Content {
			if err := l.checkKeys(c, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

// nonFinite matches YAML's spellings of NaN and the infinities.
var nonFinite = regexp.MustCompile(`^[-+]?\.(?i:nan|inf)$`)

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

func (l *loader) bad(field, format string, args ...any) *Error {
	return &Error{File: l.path, Line: l.line(field), Field: field, Msg: fmt.Sprintf(format, args...)}
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
	field := ce.Field
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
	case (env != "" || file != "") && l.orgsOnly:
		return unresolved, nil
	case env != "":
		v := l.getenv(env)
		if v == "" {
			l.missing = append(l.missing, l.bad(join(path, name+"Env"), "the environment variable %s is not set or empty: export it, or use %sFile", env, name))
			return unresolved, nil
		}
		return v, nil
	case file != "":
		file = l.rel(file)
		b, err := os.ReadFile(file)
		if err != nil {
			l.missing = append(l.missing, l.bad(join(path, name+"File"), "cannot read the secret file %s: %v (check the path and that this user may read it)", file, unwrapPathError(err)))
			return unresolved, nil
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			l.missing = append(l.missing, l.bad(join(path, name+"File"), "the secret file %s is empty", file))
			return unresolved, nil
		}
		return v, nil
	}
	if required {
		return "", l.bad(join(path, name+"Env"), "required: set %sEnv: VARIABLE (an environment variable holding the secret) or %sFile: PATH", name, name)
	}
	return "", nil
}

// explicitZero refuses a setting written as 0 whose zero value means a
// default: the file says one thing and adsync would do another.
func (l *loader) explicitZero(field string, zero bool, fix string) error {
	if _, set := l.lines[field]; set && zero {
		return l.bad(field, "0 is refused: %s", fix)
	}
	return nil
}

// secureURL refuses an http:// URL that would carry a secret in clear,
// unless its host is a loopback address (a local emulator or proxy).
func (l *loader) secureURL(field, value, what string) error {
	if value == "" {
		return nil
	}
	u, err := url.Parse(value)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return l.bad(field, "%q is not an https:// URL", value)
	}
	if u.Scheme == "https" || isLoopback(u.Hostname()) {
		return nil
	}
	return l.bad(field, "http:// would send %s in clear: use https:// (http:// is allowed only for a loopback host such as 127.0.0.1 or localhost)", what)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// rel resolves a path relative to the configuration file's directory.
func (l *loader) rel(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(l.path), p)
}

func (l *loader) build(fc *fileConfig) (*Config, error) {
	cfg := &Config{Path: l.path, Store: fc.Store, Interval: fc.Schedule.Interval, Parallel: fc.Schedule.Parallelism,
		storeLine: l.lines["store"], lines: l.lines}
	if err := l.alertsSection(cfg, fc); err != nil {
		return nil, err
	}
	if cfg.Interval < 0 {
		return nil, l.bad("schedule.interval", "must be positive (default 24h), got %s", cfg.Interval)
	}
	if cfg.Parallel < 0 {
		return nil, l.bad("schedule.parallelism", "must be positive (default %d), got %d", adsync.DefaultParallelism, cfg.Parallel)
	}
	a := fc.Autotask
	for _, z := range []struct {
		field string
		zero  bool
		def   string
	}{
		{"autotask.budgetShare", a.BudgetShare == 0, "0.5"},
		{"autotask.budgetStop", a.BudgetStop == 0, "0.9"},
	} {
		if err := l.explicitZero(z.field, z.zero, "omit it for the default ("+z.def+")"); err != nil {
			return nil, err
		}
	}
	for _, u := range []struct{ field, value string }{{"autotask.baseUrl", a.BaseURL}, {"autotask.zoneLookupUrl", a.ZoneLookupURL}} {
		if err := l.secureURL(u.field, u.value, "the API secret"); err != nil {
			return nil, err
		}
	}
	secret, err := l.secret("autotask", "secret", a.Secret, a.SecretEnv, a.SecretFile, true)
	if err != nil {
		return nil, err
	}
	cfg.Autotask = autotask.Config{IntegrationCode: a.IntegrationCode, Username: a.Username, Secret: adsync.NewSecret(secret),
		ImpersonationResourceID: a.ImpersonationResourceID, BaseURL: a.BaseURL, ZoneLookupURL: a.ZoneLookupURL,
		BudgetShare: a.BudgetShare, BudgetStop: a.BudgetStop, MaxInFlight: a.MaxInFlight, ExemptUDF: a.ExemptUDF}
	if err := cfg.Autotask.Validate(); err != nil {
		return nil, l.fromConfigError("autotask.", err, map[string]string{"secret": "secretEnv"})
	}
	if secret == unresolved {
		cfg.Autotask.Secret = adsync.Secret{}
	}
	if cfg.HTTP, err = l.httpSection(&fc.HTTP); err != nil {
		return nil, err
	}
	if len(fc.Orgs) == 0 {
		return nil, l.bad("orgs", "no organization is configured: add one under orgs (id, companyId, and %s settings)", kindList(" or "))
	}
	configs := make([]adsync.OrgConfig, len(fc.Orgs))
	for i := range fc.Orgs {
		spec, err := l.org(i, &fc.Orgs[i])
		if err != nil {
			return nil, err
		}
		cfg.Organizations = append(cfg.Organizations, spec)
		configs[i] = spec.Config
	}
	if err := adsync.ValidateOrgs(configs); err != nil { // R-SCOPE-2
		return nil, l.fromConfigError("", err, nil)
	}
	return cfg, nil
}

func (l *loader) org(i int, o *orgYAML) (Org, error) {
	p := "orgs[" + strconv.Itoa(i) + "]"
	enabled := o.Enabled == nil || *o.Enabled
	oc := adsync.OrgConfig{ID: o.ID, Name: o.Name, CompanyID: o.CompanyID, Enabled: enabled,
		BillingProductID: o.BillingProductID, MaxUsers: o.MaxUsers, IncludeDisabled: o.IncludeDisabled,
		EmailFromUPN: o.EmailFromUPN, FullReadEvery: o.FullReadEvery,
		Guard:           adsync.Guard{Min: o.Guard.Min, Percent: o.Guard.Percent, Off: o.Guard.Off, Window: time.Duration(o.Guard.Window)},
		DeactivateAfter: time.Duration(o.DeactivateAfter), DisabledAtOnce: o.DisabledAtOnce, AutotaskEdits: adsync.AutotaskEdits(o.AutotaskEdits)}
	if o.ID == "" {
		return Org{}, l.bad(p+".id", "required: a short stable key for the organization, e.g. contoso")
	}
	// The library reads a zero as "the default"; written in the file, it
	// would silently mean DefaultGuardMin or DefaultGuardPercent.
	guardFix := fmt.Sprintf("0 cannot be expressed: omit the key for the default (min %d, percent %g); to hold almost every deactivation set min: 1 and a small percent such as 0.1; to apply every deactivation at once set off: true",
		adsync.DefaultGuardMin, adsync.DefaultGuardPercent)
	if err := l.explicitZero(p+".guard.min", o.Guard.Min == 0, guardFix); err != nil {
		return Org{}, err
	}
	if err := l.explicitZero(p+".guard.percent", o.Guard.Percent == 0, guardFix); err != nil {
		return Org{}, err
	}
	if o.CompanyID == 0 {
		return Org{}, l.bad(p+".companyId", "required: the Autotask company id (CRM > Companies; the id in the company page's URL)")
	}
	for j, f := range o.Fields {
		field, err := adsync.ParseField(f.Field)
		if err != nil {
			names := make([]string, 0, adsync.NumFields)
			for _, f := range adsync.AllFields() {
				names = append(names, f.String())
			}
			return Org{}, l.bad(fmt.Sprintf("%s.fields[%d]", p, j), "unknown field %q; the fields are: %s", f.Field, strings.Join(names, ", "))
		}
		oc.Fields = append(oc.Fields, adsync.FieldSpec{Field: field, Source: f.Source})
	}
	spec := Org{Index: i}
	var kinds []string
	for k := range o.Directories {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	switch len(kinds) {
	case 0:
		return Org{}, l.bad(p, "no directory: add %s settings", kindList(" or "))
	case 1:
	default:
		// Name the section written last: the one most likely added by
		// mistake.
		last := kinds[0]
		for _, k := range kinds {
			if l.lines[p+"."+k] > l.lines[p+"."+last] {
				last = k
			}
		}
		return Org{}, l.bad(p+"."+last, "an organization has one directory: give %s, not both", strings.Join(kinds, " or "))
	}
	kind, _ := directoryKind(kinds[0]) // checkKeys refused unknown kinds
	oc.Directory = kind.Type
	node := o.Directories[kinds[0]]
	settings := kind.Settings()
	if err := node.Decode(settings); err != nil {
		return Org{}, l.yamlError(err)
	}
	dir, err := kind.Build(&Section{l: l, path: p + "." + kinds[0], org: oc}, settings)
	if err != nil {
		return Org{}, err
	}
	spec.Directory = dir
	if err := oc.Validate(); err != nil {
		return Org{}, l.fromConfigError(p+".", err, nil)
	}
	spec.Config = oc
	return spec, nil
}
