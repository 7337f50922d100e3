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
	"strings"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/config"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	// The azure directory kind: the command reads Entra ID organizations.
	_ "github.com/psasync/adsync/source/graph/graphconfig"
)

// Exit codes of the command.
const (
	ExitOK      = 0 // success
	ExitFailed  = 1 // a run, a check or an operation failed
	ExitUsage   = 2 // bad input: flags, configuration, secrets; nothing was written
	ExitHeld    = 3 // sync or approve: the run is held, deactivations await approval (R-DEACT-4)
	ExitPartial = 4 // sync: the run succeeded but some contact writes failed (retried next run)
	ExitBusy    = 5 // sync or approve: another process is running the organization (R-RUN-5); nothing was done
)

const usage = `adsync syncs contacts one way, from Entra ID or Active Directory into Autotask PSA.

Usage:
  adsync demo [--state DIR | --keep DIR] [--serve [--http ADDR]]
                                        run the whole job against built-in emulators (no setup);
                                        --keep: then keep them running for the other commands;
                                        --serve: then leave the admin console running on its state
  adsync [flags] check [--timeout 60s]  test the connections (Autotask, directory, TLS)
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
  adsync [flags] exempt [--json]        contacts the sync never deactivates
  adsync [flags] exempt --org ID --contact CONTACT [--remove] [--reason TEXT]
  adsync [flags] status [--json]        the admin table: one row per organization
  adsync [flags] serve [--http ADDR]    run every organization every 24 hours until stopped;
                                        --http (or http.listen) also serves the admin console
  adsync rules [ID]                     what a rule id (R-MATCH-1 …) in an output means
  adsync [flags] alert test             send a test message to each alert channel

Flags (before or after the command):
  --config FILE      configuration file (default adsync.yaml, or $ADSYNC_CONFIG)
  --store SPEC       history store: sqlite:PATH (default: adsync-history.db beside the
                     configuration) or postgres:DSN (or $ADSYNC_STORE, or store: in the file)
  --org ID           only this organization (repeatable)
  --log-level LEVEL  debug, info, warn or error (default warn; info for serve)
  --create-store-dir create a SQLite history's missing directory (otherwise an error:
                     a new, empty history would match every user again)

adsync CMD --help (or adsync help CMD) prints a command's flags.

Exit codes: 0 success, 1 failure, 2 bad input (nothing written), 3 run held for
approval, 4 run done with failed contact writes (retried by the next run), 5 a run
of the organization is in progress in another process (nothing done).
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
	createDir  bool // --create-store-dir
	log        *slog.Logger
	helped     bool      // --help was given: usage printed, exit 0
	bar        *progress // the progress shown on stderr, if any
	// observe, when set, gives the Syncer's observer once the history
	// store is open (serve: alerts and metrics).
	observe func(*env) (adsync.Observer, error)
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
	fs.BoolVar(&a.createDir, "create-store-dir", a.createDir, "create a SQLite history's missing directory")
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
		"rules": a.rules, "exempt": a.exempt,
		"alert": a.alert,
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		if cmd == "help" && len(rest) > 0 {
			// adsync help CMD is adsync CMD --help.
			if c, ok := cmds[rest[0]]; ok {
				return c(ctx, []string{"--help"})
			}
			return a.usageError(fmt.Sprintf("help: unknown command %q", rest[0]))
		}
		fmt.Fprint(a.stdout, usage)
		return ExitOK
	}
	c, ok := cmds[cmd]
	if !ok {
		return a.usageError(fmt.Sprintf("unknown command %q", cmd))
	}
	return c(ctx, rest)
}

// commandSummaries say what each command does, for its --help.
var commandSummaries = map[string]string{
	"demo":                "Runs the whole job against built-in emulators: no setup, no network.",
	"check":               "Tests the connections: Autotask once, then each organization's directory (TLS) and company,\nconcurrently, each result printed as it comes.",
	"plan":                "A dry run: what a sync would write, change by change, with its rule. Writes nothing.",
	"sync":                "Syncs every enabled organization now (exit 3 when deactivations are held, 5 when another\nprocess is running the organization).",
	"approve":             "Applies the deactivations a held run kept back (R-DEACT-4).",
	"history":             "The last 10 runs of each organization. Reads only the history: needs no secret.",
	"conflicts list":      "The open conflicts (R-CONF-6). Reads only the history: needs no secret.\nSubcommands: list, resolve, unresolve.",
	"conflicts resolve":   "Records an admin's decision for a user in an open conflict: --link CONTACT_ID, --create or\n--ignore. The next sync applies it. A user in no open conflict is refused unless --force.",
	"conflicts unresolve": "Removes a user's resolution: the next sync matches the user again.",
	"status":              "The admin table: one row per organization. Reads only the history: needs no secret.",
	"serve":               "Runs every enabled organization on its schedule (every 24 hours by default) until SIGINT or\nSIGTERM.",
}

// commandHelp prints a command's usage with all its flags, common ones
// included.
func (a *app) commandHelp(name string, fs *flag.FlagSet) {
	fmt.Fprintf(a.stdout, "Usage: adsync %s [flags]\n\n", name)
	if s := commandSummaries[name]; s != "" {
		fmt.Fprintf(a.stdout, "%s\n\n", s)
	}
	fmt.Fprintln(a.stdout, "Flags:")
	fs.SetOutput(a.stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintln(a.stdout, "\nadsync help lists the commands and the exit codes.")
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
			a.commandHelp(name, fs)
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
	a.log = slog.New(slog.NewTextHandler(logOut{a}, &slog.HandlerOptions{Level: l}))
	return true
}

// logOut is where log lines go: stderr, through the progress bar when one
// is shown, so that a log line never lands on the bar's line.
type logOut struct{ a *app }

func (l logOut) Write(b []byte) (int, error) {
	if l.a.bar != nil {
		return l.a.bar.logWriter().Write(b)
	}
	return l.a.stderr.Write(b)
}

// needs is what a command needs set up.
type needs int

const (
	// needServices: the Autotask client and the sources, no history
	// (check).
	needServices needs = iota
	// needAll: the services and the history store.
	needAll
	// needHistory: the history store only; no secret is resolved and
	// nothing is contacted (status, history, conflicts).
	needHistory
)

// open parses a command's flags and sets up what it needs (see setup). A
// nil env means the command must return code.
func (a *app) open(ctx context.Context, name string, fs *flag.FlagSet, args []string, level string, n needs,
	progress func(adsync.Progress)) (*env, int) {
	if !a.parse(name, fs, args, level) {
		return nil, a.parseCode()
	}
	e, err := a.setup(ctx, n, progress)
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
	var many config.Errors
	if errors.As(err, &many) {
		for _, e := range many {
			fmt.Fprintf(a.stderr, "adsync: %v\n", e)
		}
	} else {
		fmt.Fprintf(a.stderr, "adsync: %v\n", err)
	}
	var ie *InputError
	if errors.As(err, &ie) || errors.Is(err, adsync.ErrInvalidConfig) {
		return ExitUsage
	}
	return ExitFailed
}

// InputError is bad input: a flag, a configuration or a secret that
// cannot be used. The command exits with ExitUsage and writes nothing.
type InputError = config.Error

// loadConfig loads the configuration file and keeps the organizations
// selected with --org.
func (a *app) loadConfig(orgsOnly bool) (*config.Config, error) {
	path := a.configPath
	if path == "" {
		path = a.getenv("ADSYNC_CONFIG")
	}
	if path == "" {
		path = "adsync.yaml"
	}
	cfg, err := config.Load(path, &config.Options{Getenv: a.getenv, Logger: a.log, HTTPClient: a.httpClient, OrgsOnly: orgsOnly})
	if err != nil {
		if ce := (*config.Error)(nil); errors.As(err, &ce) && ce.Line == 0 && ce.Field == "" && strings.Contains(ce.Msg, "cannot read the configuration file") {
			ce.Msg += " (give its path with --config or ADSYNC_CONFIG)"
		}
		return nil, err
	}
	if len(a.orgs) > 0 {
		var keep []config.Org
		for _, id := range a.orgs {
			o, ok := cfg.Org(id)
			if !ok {
				return nil, &InputError{Field: "--org", Msg: fmt.Sprintf("no organization %q in %s (the ids are: %s)", id, path, strings.Join(cfg.IDs(), ", "))}
			}
			keep = append(keep, o)
		}
		cfg.Organizations = keep
	}
	return cfg, nil
}

// storeSpecOf returns the history store to use: --store, $ADSYNC_STORE, the
// file's store, or a SQLite file beside the configuration.
func (a *app) storeSpecOf(cfg *config.Config) (string, error) {
	override := a.storeSpec
	if override == "" {
		override = a.getenv("ADSYNC_STORE")
	}
	spec, err := cfg.HistorySpec(override)
	var ce *config.Error
	if errors.As(err, &ce) && ce.Field == "" {
		ce.Field = "--store"
	}
	return spec, err
}

// env is what a command that talks to the services needs.
type env struct {
	cfg    *config.Config
	store  *autotask.Client
	hist   config.History
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
func (a *app) setup(ctx context.Context, n needs, progress func(adsync.Progress)) (*env, error) {
	cfg, err := a.loadConfig(n == needHistory)
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg}
	var store adsync.ContactStore = offline{}
	if n == needHistory {
		for _, o := range cfg.Organizations {
			e.orgs = append(e.orgs, adsync.Org{Config: o.Config})
		}
	} else {
		if e.store, err = cfg.ContactStore(); err != nil {
			return nil, err
		}
		store = e.store
		if e.orgs, err = cfg.Orgs(); err != nil {
			return nil, err
		}
	}
	spec, err := a.storeSpecOf(cfg) // checked even when unused: a bad flag is bad input
	if err != nil {
		return nil, err
	}
	if n == needServices {
		return e, nil
	}
	if e.hist, err = cfg.History(ctx, spec, &config.HistoryOptions{CreateDir: a.createDir}); err != nil {
		if errors.Is(err, config.ErrNoHistoryDir) {
			// A new, empty history would match every user again: only on
			// purpose.
			return nil, &InputError{Field: "--store", Msg: fmt.Sprintf("%v: check the path, or give --create-store-dir to start a new history there", err)}
		}
		return nil, err
	}
	var obs adsync.Observer
	if a.observe != nil {
		if obs, err = a.observe(e); err != nil {
			e.close()
			return nil, err
		}
	}
	e.syncer, err = adsync.NewSyncer(adsync.Options{Store: store, History: e.hist, Matcher: matcher.New(nil),
		Fields: merge.New, Logger: a.log, Progress: progress, Observer: obs})
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// offline is the contact store of the commands that read only the history:
// they never reach Autotask, and say so if they tried.
type offline struct{}

var errOffline = errors.New("adsync: this command reads only the history and does not connect to Autotask")

func (offline) Contacts(context.Context, int64, adsync.FieldSet, func([]adsync.Contact) error) error {
	return errOffline
}
func (offline) Create(context.Context, adsync.NewContact) (int64, error) { return 0, errOffline }
func (offline) Update(context.Context, adsync.ContactUpdate) error       { return errOffline }
func (offline) Check(context.Context, int64) error                       { return errOffline }

// formatTime formats a time for tables, in local time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
