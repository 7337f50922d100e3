package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/config"
)

// DefaultCheckTimeout bounds the whole check command unless --timeout says
// otherwise: an endpoint that accepts connections and never answers must
// not keep an admin waiting for minutes.
const DefaultCheckTimeout = 60 * time.Second

// check tests the connections: Autotask once (credentials, zone, the request
// budget), then, concurrently, each organization's directory (reachability,
// bind or sign-in, TLS) and Autotask company. Each result is printed as it
// comes; the whole command gives up after --timeout.
func (a *app) check(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	timeout := fs.Duration("timeout", DefaultCheckTimeout, "give up on the whole check after this long")
	e, code := a.open(ctx, "check", &fs, args, "warn", needServices, nil)
	if e == nil {
		return code
	}
	if *timeout <= 0 {
		return a.usageError(fmt.Sprintf("check: --timeout %s: want a positive duration such as 30s", *timeout))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := &checker{stdout: a.stdout, stderr: a.stderr, timeout: *timeout}

	atDone := make(chan struct{})
	var atErr error
	var wg sync.WaitGroup
	wg.Add(1 + len(e.orgs))
	go func() {
		defer wg.Done()
		defer close(atDone)
		t, err := e.store.Threshold(ctx)
		if err != nil {
			atErr = err
			c.failed("autotask", "autotask: FAILED", ctx, err)
			return
		}
		c.ok(fmt.Sprintf("autotask: ok (signed in; %d of %d API calls used this hour)", t.Used, t.Limit))
	}()
	for _, o := range e.orgs {
		go func(o adsync.Org) {
			defer wg.Done()
			id := o.Config.ID
			st, err := o.Source.Check(ctx)
			tls := string(st.TLS)
			if tls == "" {
				tls = string(adsync.TLSUnknown)
			}
			if !st.CertExpiry.IsZero() {
				tls += " (expires " + st.CertExpiry.Format("2006-01-02") + ")"
			}
			if err != nil {
				c.failed(id+": directory", fmt.Sprintf("%s: directory %s FAILED; TLS %s", id, o.Config.Directory, tls), ctx, err)
			} else {
				detail := ""
				if st.Detail != "" {
					detail = " (" + st.Detail + ")"
				}
				c.ok(fmt.Sprintf("%s: directory %s ok%s; TLS %s", id, o.Config.Directory, detail, tls))
			}
			select {
			case <-atDone:
			case <-ctx.Done():
			}
			if atErr != nil || ctx.Err() != nil {
				c.ok(fmt.Sprintf("%s: Autotask company %d not checked (Autotask failed)", id, o.Config.CompanyID))
				return
			}
			if err := e.store.Check(ctx, o.Config.CompanyID); err != nil {
				c.failed(fmt.Sprintf("%s: Autotask company %d", id, o.Config.CompanyID),
					fmt.Sprintf("%s: Autotask company %d FAILED", id, o.Config.CompanyID), ctx, err)
				return
			}
			c.ok(fmt.Sprintf("%s: Autotask company %d ok", id, o.Config.CompanyID))
		}(o)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		// A check that ignores its context must not hold the command:
		// whatever has not answered yet has failed.
		select {
		case <-done:
		case <-time.After(time.Second):
			c.giveUp()
		}
	}
	if c.anyFailed() {
		return ExitFailed
	}
	return ExitOK
}

// checker prints check results as they come, from several goroutines.
type checker struct {
	stdout, stderr io.Writer
	timeout        time.Duration

	mu      sync.Mutex
	failure bool
	over    bool // the command returned: later results are dropped
}

func (c *checker) ok(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.over {
		fmt.Fprintln(c.stdout, line)
	}
}

// failed prints a failed check's line on stdout and its reason on stderr;
// a check cut by the timeout says so rather than "context deadline
// exceeded".
func (c *checker) failed(what, line string, ctx context.Context, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failure = true
	if c.over {
		return
	}
	fmt.Fprintln(c.stdout, line)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		fmt.Fprintf(c.stderr, "adsync: %s: no answer within %s (--timeout)\n", what, c.timeout)
		return
	}
	fmt.Fprintf(c.stderr, "adsync: %s: %v\n", what, err)
}

func (c *checker) giveUp() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failure, c.over = true, true
	fmt.Fprintf(c.stderr, "adsync: check: gave up after %s (--timeout): the checks not printed above had no answer\n", c.timeout)
}

func (c *checker) anyFailed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failure
}

// planJSON is the --json form of a plan.
type planJSON struct {
	OrgID     string           `json:"orgId"`
	CompanyID int64            `json:"companyId"`
	Summary   string           `json:"summary"`
	FullRead  bool             `json:"fullRead"`
	Counts    adsync.Counts    `json:"counts"`
	Changes   []adsync.Change  `json:"changes"`
	Held      []adsync.Change  `json:"held"`
	Conflicts []conflictJSON   `json:"conflicts"`
	Skips     []adsync.Skip    `json:"skips"`
	Warnings  []adsync.Warning `json:"warnings"`
	TLS       adsync.TLSStatus `json:"tls"`
	// Calls estimates the run's Autotask calls and budget hours.
	Calls adsync.CallEstimate `json:"calls"`
	// The optional safety features' parts (R-DEACT-6..9, R-FIELD-9/10,
	// R-LINK-6), left out when empty.
	Pending []adsync.PendingDeactivation `json:"pending,omitempty"`
	Exempt  []adsync.Exempted            `json:"exempt,omitempty"`
	Kept    []adsync.KeptEdit            `json:"kept,omitempty"`
	Move    *adsync.MoveReport           `json:"move,omitempty"`
	Window  *adsync.GuardWindow          `json:"window,omitempty"`
}

type conflictJSON struct {
	UserID     string              `json:"userId"`
	User       string              `json:"user"`
	Kind       adsync.ConflictKind `json:"kind"`
	Rule       string              `json:"rule"`
	OtherUsers []string            `json:"otherUsers,omitempty"`
	Candidates []int64             `json:"candidates,omitempty"`
	Detail     string              `json:"detail"`
	FirstSeen  time.Time           `json:"firstSeen"`
	LastSeen   time.Time           `json:"lastSeen"`
}

func toConflictJSON(cs []adsync.Conflict) []conflictJSON {
	out := make([]conflictJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, conflictJSON{UserID: c.UserID, User: c.User, Kind: c.Kind, Rule: c.Kind.Rule(), OtherUsers: c.OtherUsers,
			Candidates: c.Candidates, Detail: c.Detail, FirstSeen: c.FirstSeen, LastSeen: c.LastSeen})
	}
	return out
}

// plan is the dry run.
func (a *app) plan(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	asJSON := fs.Bool("json", false, "print the plans as JSON")
	pr := a.newProgress()
	e, code := a.open(ctx, "plan", &fs, args, "warn", needAll, pr.update)
	if e == nil {
		return code
	}
	defer e.close()
	var plans []planJSON
	code = ExitOK
	for _, o := range e.orgs {
		if !o.Config.Enabled {
			if len(a.orgs) == 0 {
				fmt.Fprintf(a.stderr, "adsync: %s is disabled (enabled: false): not planned (name it with --org %s to preview it)\n", o.Config.ID, o.Config.ID)
				continue
			}
			// Named explicitly: a preview before enabling it. A plan
			// writes nothing; sync still refuses the organization.
			fmt.Fprintf(a.stderr, "adsync: %s is disabled (enabled: false): planned as a preview; sync will not run it\n", o.Config.ID)
			o.Config.Enabled = true
		}
		p, err := e.syncer.Plan(ctx, o)
		pr.done()
		if err != nil {
			fmt.Fprintf(a.stderr, "adsync: %s: %v\n", o.Config.ID, err)
			code = ExitFailed
			continue
		}
		if *asJSON {
			plans = append(plans, planJSON{OrgID: p.OrgID, CompanyID: p.CompanyID, Summary: p.Summary(), FullRead: p.FullRead,
				Counts: p.Counts, Changes: p.Changes, Held: p.Held, Conflicts: toConflictJSON(p.Conflicts), Skips: p.Skips,
				Warnings: p.Warnings, TLS: p.TLS, Calls: p.Calls, Pending: p.Pending, Exempt: p.Exempt, Kept: p.Kept, Move: p.Move, Window: p.Window})
			continue
		}
		_, _ = p.WriteTo(a.stdout)
		fmt.Fprintln(a.stdout)
	}
	if *asJSON && code == ExitOK { // a failed plan prints no partial JSON
		if plans == nil {
			plans = []planJSON{}
		}
		if err := writeJSON(a.stdout, plans); err != nil {
			return a.fail(err)
		}
	}
	return code
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// sync runs every enabled organization once, now.
func (a *app) sync(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	pr := a.newProgress()
	e, code := a.open(ctx, "sync", &fs, args, "warn", needAll, pr.update)
	if e == nil {
		return code
	}
	defer e.close()
	if _, err := e.hist.InterruptRuns(ctx, time.Now()); err != nil {
		return a.fail(err)
	}
	code = ExitOK
	for i, o := range e.orgs {
		if !o.Config.Enabled {
			fmt.Fprintf(a.stderr, "adsync: %s is disabled (enabled: false): not synced\n", o.Config.ID)
			continue
		}
		run, err := e.syncer.Sync(ctx, o, adsync.TriggerForced)
		pr.done()
		code = worse(code, a.report(o.Config.ID, e.cfg, e.cfg.Organizations[i].Index, run, err))
	}
	return code
}

// worse returns the more serious of two exit codes.
func worse(a, b int) int {
	rank := map[int]int{ExitOK: 0, ExitBusy: 1, ExitPartial: 2, ExitHeld: 3, ExitFailed: 4, ExitUsage: 5}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// report prints a run's outcome and returns its exit code. index is the
// organization's position in the configuration file, for messages.
func (a *app) report(orgID string, cfg *config.Config, index int, run adsync.Run, err error) int {
	if run.ID == 0 && err != nil {
		fmt.Fprintf(a.stderr, "adsync: %s: %v\n", orgID, err)
		if errors.Is(err, adsync.ErrRunInProgress) {
			// Another process runs the organization: not a failure of
			// this one, which did nothing (R-RUN-5).
			return ExitBusy
		}
		return ExitFailed
	}
	writeRun(a.stdout, run)
	if run.Counts.Conflicts > 0 {
		fmt.Fprintf(a.stdout, "  %d users in conflict, nothing written for them: adsync conflicts --org %s\n", run.Counts.Conflicts, orgID)
	}
	switch {
	case run.Status == adsync.StatusFailed || err != nil:
		msg := run.Error
		if msg == "" && err != nil {
			msg = err.Error()
		}
		fmt.Fprintf(a.stderr, "adsync: %s: run %d failed: %s\n", orgID, run.ID, msg)
		return ExitFailed
	case run.Status == adsync.StatusHeld:
		writeHeld(a.stdout, orgID, cfg, index, run)
		return ExitHeld
	case run.Counts.FailedWrites > 0:
		return ExitPartial
	}
	return ExitOK
}

// writeRun prints a run record in a few lines.
func writeRun(w io.Writer, r adsync.Run) { writeRunTimed(w, r, true) }

// writeRunTimed prints a run record, with its duration when timed (the
// demo prints none: its story is the same on every machine).
func writeRunTimed(w io.Writer, r adsync.Run, timed bool) {
	took := ""
	if timed {
		took = " in " + r.Duration().Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "%s: run %d (%s) %s%s\n", r.OrgID, r.ID, r.Trigger, r.Status, took)
	fmt.Fprintf(w, "  %s\n", r.Counts)
	fmt.Fprintf(w, "  Autotask API calls: %d; directory TLS: %s; full read: %t\n", r.APICalls, r.TLS, r.FullRead)
	list := func(title string, n int, item func(i int) string) {
		if n == 0 {
			return
		}
		fmt.Fprintf(w, "  %s (%d):\n", title, n)
		for i := range min(n, 5) {
			fmt.Fprintf(w, "    %s\n", item(i))
		}
		if n > 5 {
			fmt.Fprintf(w, "    … and %d more (adsync history --json lists them all)\n", n-5)
		}
	}
	list("warnings", len(r.Warnings), func(i int) string { return r.Warnings[i].String() })
	list("skipped", len(r.Skips), func(i int) string {
		s := r.Skips[i]
		return fmt.Sprintf("%s [%s]: %s", s.User, s.Rule, s.Reason)
	})
	list("failed writes (retried by the next run)", len(r.Failures), func(i int) string {
		f := r.Failures[i]
		return fmt.Sprintf("%s of user %s: %s", f.Kind, f.UserID, f.Error)
	})
}

// writeHeld explains a held run and how to approve it.
func writeHeld(w io.Writer, orgID string, cfg *config.Config, index int, r adsync.Run) {
	why := "more than the guard allows (R-DEACT-4)"
	for _, wr := range r.Warnings {
		if wr.Rule == "R-DEACT-6" {
			why = "which with those of the guard's window are more than the guard allows (R-DEACT-6)"
		}
	}
	fmt.Fprintf(w, "\n%s: run %d is HELD: it would deactivate %d contacts, %s.\n", orgID, r.ID, len(r.Held), why)
	fmt.Fprintln(w, "Everything else was applied. The held deactivations:")
	for i, h := range r.Held {
		if i == 10 {
			fmt.Fprintf(w, "  … and %d more (adsync history --json --org %s lists them all)\n", len(r.Held)-10, orgID)
			break
		}
		fmt.Fprintf(w, "  x %s (user %s)\n", h.Contact, h.UserID)
	}
	fmt.Fprintf(w, "If these people really left, apply the deactivations with:\n  adsync approve --org %s --run %d\n", orgID, r.ID)
	if cfg != nil {
		fmt.Fprintf(w, "If the directory is wrong (a group emptied by mistake), fix it and run adsync sync again; nothing is lost.\n"+
			"To allow larger deactivations without approval, raise orgs[%d].guard.min or orgs[%d].guard.percent in %s.\n", index, index, cfg.Path)
	}
}

// approve applies the deactivations held by a run.
func (a *app) approve(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	runID := fs.Int64("run", 0, "the held run (default: the organization's latest held run)")
	if !a.parse("approve", &fs, args, "warn") {
		return a.parseCode()
	}
	pr := a.newProgress()
	e, code := a.setupOrg(ctx, "approve", pr)
	if e == nil {
		return code
	}
	defer e.close()
	o := e.orgs[0]
	runs, err := e.hist.Runs(ctx, o.Config.ID, 0)
	if err != nil {
		return a.fail(err)
	}
	approvedBy := map[int64]int64{} // held run → the approval run that applied it
	for _, r := range runs {
		if r.Trigger == adsync.TriggerApproval && r.ApprovedRun != 0 && r.Status == adsync.StatusSucceeded {
			approvedBy[r.ApprovedRun] = r.ID
		}
	}
	id := *runID
	if id == 0 {
		for _, r := range runs {
			if r.Status == adsync.StatusHeld && approvedBy[r.ID] == 0 {
				id = r.ID
				break
			}
		}
		if id == 0 {
			fmt.Fprintf(a.stderr, "adsync: %s has no held run waiting for approval: nothing to approve\n", o.Config.ID)
			return ExitFailed
		}
	}
	if by := approvedBy[id]; by != 0 {
		fmt.Fprintf(a.stderr, "adsync: %s: run %d was already approved by run %d\n", o.Config.ID, id, by)
		return ExitFailed
	}
	fmt.Fprintf(a.stdout, "%s: approving the deactivations held by run %d\n", o.Config.ID, id)
	run, err := e.syncer.Approve(ctx, o, id)
	pr.done()
	if errors.Is(err, adsync.ErrNothingHeld) || errors.Is(err, adsync.ErrNotFound) {
		fmt.Fprintf(a.stderr, "adsync: %s: %v\n", o.Config.ID, err)
		return ExitFailed
	}
	return a.report(o.Config.ID, e.cfg, e.cfg.Organizations[0].Index, run, err)
}

// history lists the last runs of each organization.
func (a *app) history(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	asJSON := fs.Bool("json", false, "print the runs as JSON, with their warnings, skips and failures")
	var cf changeFlags
	cf.register(&fs)
	e, code := a.open(ctx, "history", &fs, args, "warn", needHistory, nil)
	if e == nil {
		return code
	}
	defer e.close()
	if cf.set() {
		return a.changes(ctx, e, &cf, *asJSON)
	}
	all := map[string][]adsync.Run{}
	for _, o := range e.orgs {
		runs, err := e.hist.Runs(ctx, o.Config.ID, adsync.KeepRuns)
		if err != nil {
			return a.fail(err)
		}
		all[o.Config.ID] = runs
	}
	if *asJSON {
		if err := writeJSON(a.stdout, all); err != nil {
			return a.fail(err)
		}
		return ExitOK
	}
	for _, o := range e.orgs {
		writeHistory(a.stdout, o.Config.ID, all[o.Config.ID], formatTime)
	}
	return ExitOK
}

// writeHistory prints runs as a table, newest first.
func writeHistory(w io.Writer, orgID string, runs []adsync.Run, at func(time.Time) string) {
	fmt.Fprintf(w, "%s: %d runs\n", orgID, len(runs))
	if len(runs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  RUN\tSTARTED\tTRIGGER\tSTATUS\tREAD\tCREATED\tLINKED\tUPDATED\tREACT.\tDEACT.\tHELD\tCONFL.\tAPI CALLS\tERROR")
	for _, r := range runs {
		c := r.Counts
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", r.ID, at(r.Started), r.Trigger, r.Status,
			c.Read, c.Created, c.Linked, c.Updated, c.Reactivated, c.Deactivated, c.Held, c.Conflicts, r.APICalls, firstLine(r.Error))
	}
	_ = tw.Flush()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// conflicts lists, resolves and unresolves conflicts (R-CONF-6).
func (a *app) conflicts(ctx context.Context, args []string) int {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	var fs flag.FlagSet
	asJSON := fs.Bool("json", false, "list as JSON")
	user := fs.String("user", "", "the user's directory id (resolve, unresolve)")
	link := fs.Int64("link", 0, "resolve: link the user to this contact id")
	create := fs.Bool("create", false, "resolve: create a new contact for the user")
	ignore := fs.Bool("ignore", false, "resolve: leave the user out until unresolved")
	by := fs.String("by", "", "resolve: who decided (free text, kept with the resolution)")
	force := fs.Bool("force", false, "resolve: record a resolution for a user in no open conflict (in advance)")
	switch sub {
	case "list", "resolve", "unresolve":
	default:
		return a.usageError(fmt.Sprintf("conflicts: unknown subcommand %q (want list, resolve or unresolve)", sub))
	}
	if !a.parse("conflicts "+sub, &fs, args, "warn") {
		return a.parseCode()
	}
	if sub != "list" {
		if len(a.orgs) != 1 || *user == "" {
			return a.usageError("conflicts " + sub + ": give --org ID and --user UID (the user id that adsync conflicts lists)")
		}
	}
	var action adsync.ResolutionAction
	if sub == "resolve" {
		n := 0
		if *link != 0 {
			n, action = n+1, adsync.ResolveLink
		}
		if *create {
			n, action = n+1, adsync.ResolveCreate
		}
		if *ignore {
			n, action = n+1, adsync.ResolveIgnore
		}
		if n != 1 {
			return a.usageError("conflicts resolve: give exactly one of --link CONTACT_ID, --create or --ignore")
		}
	}
	n := needAll // resolve checks the contact in Autotask
	if sub != "resolve" {
		n = needHistory
	}
	e, err := a.setup(ctx, n, nil)
	if err != nil {
		return a.fail(err)
	}
	defer e.close()
	switch sub {
	case "resolve":
		o := e.orgs[0]
		cs, err := e.syncer.Conflicts(ctx, o.Config.ID)
		if err != nil {
			return a.fail(err)
		}
		open := false
		for _, c := range cs {
			open = open || c.UserID == *user
		}
		if !open && !*force {
			// Most likely a mistyped id: a resolution nobody needs would
			// wait silently for a user who never comes.
			return a.fail(&InputError{Field: "--user", Msg: fmt.Sprintf("user %q is in no open conflict of %s (adsync conflicts --org %s lists them, with the user ids); give --force to record the resolution in advance",
				*user, o.Config.ID, o.Config.ID)})
		}
		r := adsync.Resolution{OrgID: o.Config.ID, UserID: *user, Action: action, ContactID: *link, By: *by, CreatedAt: time.Now()}
		if err := e.syncer.Resolve(ctx, o.Config, r); err != nil {
			return a.fail(err)
		}
		if !open {
			fmt.Fprintf(a.stdout, "%s: user %s resolved (%s), recorded in advance: the user is in no open conflict yet\n", o.Config.ID, *user, action)
			return ExitOK
		}
		fmt.Fprintf(a.stdout, "%s: user %s resolved (%s); the next sync applies it\n", o.Config.ID, *user, action)
		return ExitOK
	case "unresolve":
		o := e.orgs[0]
		if err := e.syncer.Unresolve(ctx, o.Config.ID, *user); err != nil {
			return a.fail(err)
		}
		fmt.Fprintf(a.stdout, "%s: resolution of user %s removed; the next sync matches the user again\n", o.Config.ID, *user)
		return ExitOK
	}
	all := map[string][]conflictJSON{}
	for _, o := range e.orgs {
		cs, err := e.syncer.Conflicts(ctx, o.Config.ID)
		if err != nil {
			return a.fail(err)
		}
		all[o.Config.ID] = toConflictJSON(cs)
		if !*asJSON {
			writeConflicts(a.stdout, o.Config.ID, cs)
		}
	}
	if *asJSON {
		if err := writeJSON(a.stdout, all); err != nil {
			return a.fail(err)
		}
	}
	return ExitOK
}

// writeConflicts prints the open conflicts and how to resolve them.
func writeConflicts(w io.Writer, orgID string, cs []adsync.Conflict) {
	fmt.Fprintf(w, "%s: %d open conflicts\n", orgID, len(cs))
	for _, c := range cs {
		fmt.Fprintf(w, "  ! %s [%s] %s\n      %s\n", c.Kind, c.Kind.Rule(), c.User, c.Detail)
		if len(c.Candidates) > 0 {
			ids := make([]string, len(c.Candidates))
			for i, id := range c.Candidates {
				ids[i] = strconv.FormatInt(id, 10)
			}
			fmt.Fprintf(w, "      candidate contacts: %s\n", strings.Join(ids, ", "))
		}
	}
	if len(cs) > 0 {
		fmt.Fprintf(w, "  Resolve one with: adsync conflicts resolve --org %s --user USER_ID (--link CONTACT_ID | --create | --ignore)\n", orgID)
	}
}

// status prints the admin table of R-STATUS-1.
func (a *app) status(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	asJSON := fs.Bool("json", false, "print as JSON")
	e, code := a.open(ctx, "status", &fs, args, "warn", needHistory, nil)
	if e == nil {
		return code
	}
	defer e.close()
	st, err := e.syncer.Status(ctx, e.cfg.OrgConfigs())
	if err != nil {
		return a.fail(err)
	}
	if *asJSON {
		if err := writeJSON(a.stdout, st); err != nil {
			return a.fail(err)
		}
		return ExitOK
	}
	writeStatus(a.stdout, st, formatTime)
	return ExitOK
}

var outcomeMarks = map[adsync.RunStatus]string{
	adsync.StatusSucceeded: "✓", adsync.StatusFailed: "✗", adsync.StatusHeld: "H",
	adsync.StatusInterrupted: "I", adsync.StatusRunning: "…",
}

// writeStatus prints one row per organization.
func writeStatus(w io.Writer, st []adsync.OrgStatus, at func(time.Time) string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORG\tCOMPANY\tENABLED\tDIRECTORY\tACTIVE LINKED\tCONFLICTS\tTLS\tLAST ATTEMPT\tBILLING PRODUCT\tLAST RUNS (newest first)")
	for _, s := range st {
		var marks strings.Builder
		for _, r := range s.Runs {
			m := outcomeMarks[r.Status]
			if m == "" {
				m = "?"
			}
			marks.WriteString(m)
		}
		billing := "-"
		if s.BillingProductID != 0 {
			billing = strconv.FormatInt(s.BillingProductID, 10)
		}
		name := s.OrgID
		if s.Name != "" {
			name += " (" + s.Name + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%t\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", name, s.CompanyID, s.Enabled, s.Directory,
			s.ActiveLinkedUsers, s.OpenConflicts, s.TLS, at(s.LastAttempt), billing, marks.String())
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "(✓ succeeded, ✗ failed, H held for approval, I interrupted)")
}
