package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/history/postgres"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/ldap"
)

// Exit codes of the command.
const (
	ExitOK      = 0 // success
	ExitFailed  = 1 // a run, a check or an operation failed
	ExitUsage   = 2 // bad input: flags, configuration, secrets; nothing was written
	ExitHeld    = 3 // sync or approve: the run is held, deactivations await approval (R-DEACT-4)
	ExitPartial = 4 // sync: the run succeeded but some contact writes failed (retried next run)
)

const usage = `adsync syncs contacts one way, from Entra ID or Active Directory into Autotask PSA.

Usage:
  adsync demo [--state DIR]             run the whole job against built-in emulators (no setup)
  adsync [flags] check                  test the connections (Autotask, directory, TLS)
  adsync [flags] plan [--json]          dry run: what a sync would write
  adsync [flags] sync                   sync now (exit 3 when deactivations are held)
  adsync [flags] approve --org ID [--run N]   apply a held run's deactivations
  adsync [flags] history [--json]       the last 10 runs of each organization
  adsync [flags] history --org ID --run N [--kind K] [--json]   the changes a run made
  adsync [flags] history --org ID (--contact ID | --user UID)    every change to a contact or user
  adsync [flags] undo --org ID --run N [--apply]   plan (and with --apply, write) the inverse of a run
  adsync [flags] conflicts [list]       open conflicts
  adsync [flags] conflicts resolve --org ID --user UID (--link CONTACT | --create | --ignore)
  adsync [flags] conflicts unresolve --org ID --user UID
  adsync [flags] status [--json]        the admin table: one row per organization
  adsync [flags] serve                  run every organization every 24 hours until stopped

Flags (before or after the command):
  --config FILE      configuration file (default adsync.yaml, or $ADSYNC_CONFIG)
  --store SPEC       history store: sqlite:PATH (default: adsync-history.db beside the
                     configuration) or postgres:DSN (or $ADSYNC_STORE, or store: in the file)
  --org ID           only this organization (repeatable)
  --log-level LEVEL  debug, info, warn or error (default warn; info for serve)

Exit codes: 0 success, 1 failure, 2 bad input (nothing written), 3 run held for
approval, 4 run done with failed contact writes (retried by the next run).
`

// app is one invocation of the command.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// httpClient, when set, carries every request (tests: emulators with
	// self-signed certificates).
	httpClient *http.Client
	// terminal forces the progress bar on (true) or off (false); nil
	// detects it from stderr.
	terminal *bool

	// flags
	configPath string
	storeSpec  string
	logLevel   string
	orgs       stringList
	log        *slog.Logger
	helped     bool // --help was given: usage printed, exit 0
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Run runs the command with args (without the program name) and returns its
// exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return a.run(ctx, args)
}

func (a *app) commonFlags(fs *flag.FlagSet) {
	fs.StringVar(&a.configPath, "config", a.configPath, "configuration file")
	fs.StringVar(&a.storeSpec, "store", a.storeSpec, "history store: sqlite:PATH or postgres:DSN")
	fs.StringVar(&a.logLevel, "log-level", a.logLevel, "debug, info, warn or error")
	fs.Var(&a.orgs, "org", "only this organization (repeatable)")
}

func (a *app) run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("adsync", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.commonFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, usage)
			return ExitOK
		}
		return a.usageError(err.Error())
	}
	args = fs.Args()
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	type command func(context.Context, []string) int
	cmds := map[string]command{
		"demo": a.demo, "check": a.check, "plan": a.plan, "sync": a.sync, "approve": a.approve,
		"history": a.history, "conflicts": a.conflicts, "status": a.status, "serve": a.serve, "undo": a.undo,
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(a.stdout, usage)
		return ExitOK
	}
	c, ok := cmds[cmd]
	if !ok {
		return a.usageError(fmt.Sprintf("unknown command %q", cmd))
	}
	return c(ctx, rest)
}

func (a *app) usageError(msg string) int {
	fmt.Fprintf(a.stderr, "adsync: %s\nRun 'adsync help' for usage.\n", msg)
	return ExitUsage
}

// parse parses a subcommand's flags (the common ones included) and sets up
// logging. It returns false after printing the problem.
func (a *app) parse(name string, fs *flag.FlagSet, args []string, defaultLevel string) bool {
	fs.Init("adsync "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.commonFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, usage)
			a.helped = true
		} else {
			a.usageError(fmt.Sprintf("%s: %v", name, err))
		}
		return false
	}
	if fs.NArg() > 0 {
		a.usageError(fmt.Sprintf("%s: unexpected argument %q", name, fs.Arg(0)))
		return false
	}
	level := a.logLevel
	if level == "" {
		level = defaultLevel
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		a.usageError(fmt.Sprintf("--log-level: %q is not a level (want debug, info, warn or error)", level))
		return false
	}
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: l}))
	return true
}

// open parses a command's flags and sets up what it needs (see setup). A
// nil env means the command must return code.
func (a *app) open(ctx context.Context, name string, fs *flag.FlagSet, args []string, level string, withStore bool,
	progress func(adsync.Progress)) (*env, int) {
	if !a.parse(name, fs, args, level) {
		return nil, a.parseCode()
	}
	e, err := a.setup(ctx, withStore, progress)
	if err != nil {
		return nil, a.fail(err)
	}
	return e, ExitOK
}

// parseCode is the exit code after parse returned false: 0 when help was
// asked for, ExitUsage otherwise.
func (a *app) parseCode() int {
	if a.helped {
		return ExitOK
	}
	return ExitUsage
}

// fail prints an error and returns its exit code: 2 for bad input, 1
// otherwise.
func (a *app) fail(err error) int {
	fmt.Fprintf(a.stderr, "adsync: %v\n", err)
	var ie *InputError
	if errors.As(err, &ie) || errors.Is(err, adsync.ErrInvalidConfig) {
		return ExitUsage
	}
	return ExitFailed
}

// loadConfig loads the configuration file and keeps the organizations
// selected with --org.
func (a *app) loadConfig() (*Config, error) {
	path := a.configPath
	if path == "" {
		path = a.getenv("ADSYNC_CONFIG")
	}
	if path == "" {
		path = "adsync.yaml"
	}
	cfg, err := LoadConfig(path, a.getenv)
	if err != nil {
		return nil, err
	}
	if len(a.orgs) > 0 {
		var keep []OrgSpec
		for _, id := range a.orgs {
			o, ok := cfg.org(id)
			if !ok {
				return nil, &InputError{Field: "--org", Msg: fmt.Sprintf("no organization %q in %s (the ids are: %s)", id, path, strings.Join(cfg.ids(), ", "))}
			}
			keep = append(keep, o)
		}
		cfg.Orgs = keep
	}
	return cfg, nil
}

func (c *Config) org(id string) (OrgSpec, bool) {
	for _, o := range c.Orgs {
		if o.Config.ID == id {
			return o, true
		}
	}
	return OrgSpec{}, false
}

func (c *Config) ids() []string {
	ids := make([]string, len(c.Orgs))
	for i, o := range c.Orgs {
		ids[i] = o.Config.ID
	}
	return ids
}

func (c *Config) orgConfigs() []adsync.OrgConfig {
	out := make([]adsync.OrgConfig, len(c.Orgs))
	for i, o := range c.Orgs {
		out[i] = o.Config
	}
	return out
}

// resolveStore returns the history store to use: --store, $ADSYNC_STORE, the
// file's store, or a SQLite file beside the configuration. A bare
// postgres:// or postgresql:// URL stands for postgres:URL.
func (a *app) resolveStore(cfg *Config) (string, error) {
	spec := a.storeSpec
	if spec == "" {
		spec = a.getenv("ADSYNC_STORE")
	}
	if spec == "" && cfg != nil {
		spec = cfg.Store
	}
	if spec == "" {
		dir := "."
		if cfg != nil {
			dir = filepath.Dir(cfg.Path)
		}
		spec = "sqlite:" + filepath.Join(dir, "adsync-history.db")
	}
	if strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://") {
		// A bare PostgreSQL URL, as libpq and our own messages write it:
		// cut at the first ":" it would become "//user:pw@host…", which pgx
		// reads as an empty key=value DSN (the local socket, as root).
		spec = "postgres:" + spec
	}
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok || rest == "" || (kind != "sqlite" && kind != "postgres") {
		return "", &InputError{Field: "--store", Msg: fmt.Sprintf("%q: want sqlite:PATH or postgres:DSN (e.g. postgres://adsync@db/adsync)", redactDSN(spec))}
	}
	if kind == "sqlite" && cfg != nil && !filepath.IsAbs(rest) && a.storeSpec == "" && a.getenv("ADSYNC_STORE") == "" {
		spec = "sqlite:" + filepath.Join(filepath.Dir(cfg.Path), rest)
	}
	return spec, nil
}

// dsnPassword matches a password setting in a key=value DSN (quoted, or
// with spaces around "=", as libpq allows) or in a URL's query.
var dsnPassword = regexp.MustCompile(`(?i)\b((?:ssl)?password)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]*)`)

// redactDSN hides the passwords in a store specification for messages:
// a URL's userinfo password, and password= or sslpassword= settings in a
// URL's query or a key=value DSN.
func redactDSN(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		// The last "@": a password may hold a raw one. Masking too much
		// is better than too little.
		if at := strings.LastIndex(s, "@"); at > i {
			if c := strings.Index(s[i+3:at], ":"); c >= 0 {
				s = s[:i+3+c+1] + "xxxxx" + s[at:]
			}
		}
	}
	return dsnPassword.ReplaceAllString(s, "${1}=xxxxx")
}

// historyStore is an opened history store.
type historyStore struct {
	adsync.HistoryStore
	close func()
}

// Close closes the store.
func (h *historyStore) Close() error { h.close(); return nil }

// openStore opens the history store. It is called only after the
// configuration and its secrets were validated, so bad input never creates
// a database file.
func (a *app) openStore(ctx context.Context, spec string) (*historyStore, error) {
	kind, rest, _ := strings.Cut(spec, ":")
	switch kind {
	case "postgres":
		s, err := postgres.Open(ctx, rest, &postgres.Options{Logger: a.log})
		if err != nil {
			return nil, fmt.Errorf("opening the history store: %w", err)
		}
		return &historyStore{s, s.Close}, nil
	default:
		if dir := filepath.Dir(rest); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("creating the directory of the history store: %w", err)
			}
		}
		s, err := sqlite.Open(ctx, rest, &sqlite.Options{Logger: a.log})
		if err != nil {
			return nil, fmt.Errorf("opening the history store %s: %w", rest, err)
		}
		return &historyStore{s, func() { _ = s.Close() }}, nil
	}
}

// env is what a command that talks to the services needs.
type env struct {
	cfg    *Config
	store  *autotask.Client
	hist   *historyStore
	syncer *adsync.Syncer
	orgs   []adsync.Org
}

func (e *env) close() {
	if e.hist != nil {
		_ = e.hist.Close()
	}
}

// setup loads the configuration, builds the sources and the Autotask client
// (all of which validate without I/O), and only then opens the history store.
func (a *app) setup(ctx context.Context, withStore bool, progress func(adsync.Progress)) (*env, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg}
	atc := cfg.Autotask
	atc.Logger = a.log
	if a.httpClient != nil {
		atc.HTTPClient = a.httpClient
	}
	if e.store, err = autotask.New(atc); err != nil {
		return nil, &InputError{File: cfg.Path, Field: "autotask", Msg: err.Error()}
	}
	for _, o := range cfg.Orgs {
		src, err := a.newSource(o)
		if err != nil {
			return nil, &InputError{File: cfg.Path, Field: "orgs." + o.Config.ID, Msg: err.Error()}
		}
		e.orgs = append(e.orgs, adsync.Org{Config: o.Config, Source: src})
	}
	spec, err := a.resolveStore(cfg) // checked even when unused: a bad flag is bad input
	if err != nil {
		return nil, err
	}
	if !withStore {
		return e, nil
	}
	if e.hist, err = a.openStore(ctx, spec); err != nil {
		return nil, err
	}
	e.syncer, err = adsync.NewSyncer(adsync.Options{Store: e.store, History: e.hist, Matcher: matcher.New(nil),
		Fields: merge.New, Logger: a.log, Progress: progress})
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (a *app) newSource(o OrgSpec) (adsync.DirectorySource, error) {
	if o.LDAP != nil {
		c := *o.LDAP
		c.Logger = a.log
		return ldap.New(c)
	}
	c := *o.Azure
	c.Logger = a.log
	if a.httpClient != nil {
		c.HTTPClient = a.httpClient
	}
	return graph.New(c)
}

// formatTime formats a time for tables, in local time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
