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
	"text/tabwriter"
	"time"

	"github.com/psasync/adsync"
)

// check tests every organization's connections: Autotask (credentials,
// company) and the directory (reachability, bind or sign-in, TLS).
func (a *app) check(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	e, code := a.open(ctx, "check", &fs, args, "warn", false, nil)
	if e == nil {
		return code
	}
	failed := false
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORG\tDIRECTORY\tTLS\tDIRECTORY CHECK\tAUTOTASK CHECK")
	var problems []string
	for _, o := range e.orgs {
		dir, at := "ok", "ok"
		st, err := o.Source.Check(ctx)
		if err != nil {
			dir, failed = "FAILED", true
			problems = append(problems, fmt.Sprintf("%s: directory: %v", o.Config.ID, err))
		} else if st.Detail != "" {
			dir = "ok (" + st.Detail + ")"
		}
		if err := e.store.Check(ctx, o.Config.CompanyID); err != nil {
			at, failed = "FAILED", true
			problems = append(problems, fmt.Sprintf("%s: autotask company %d: %v", o.Config.ID, o.Config.CompanyID, err))
		}
		tls := string(st.TLS)
		if tls == "" {
			tls = string(adsync.TLSUnknown)
		}
		if !st.CertExpiry.IsZero() {
			tls += " (expires " + st.CertExpiry.Format("2006-01-02") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.Config.ID, o.Config.Directory, tls, dir, at)
	}
	_ = tw.Flush()
	for _, p := range problems {
		fmt.Fprintln(a.stderr, "adsync: "+p)
	}
	if failed {
		return ExitFailed
	}
	return ExitOK
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
	e, code := a.open(ctx, "plan", &fs, args, "warn", true, pr.update)
	if e == nil {
		return code
	}
	defer e.close()
	var plans []planJSON
	code = ExitOK
	for _, o := range e.orgs {
		if !o.Config.Enabled {
			fmt.Fprintf(a.stderr, "adsync: %s is disabled (enabled: false): not planned\n", o.Config.ID)
			continue
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
				Warnings: p.Warnings, TLS: p.TLS})
			continue
		}
		_, _ = p.WriteTo(a.stdout)
		fmt.Fprintln(a.stdout)
	}
	if *asJSON {
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
	e, code := a.open(ctx, "sync", &fs, args, "warn", true, pr.update)
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
		code = worse(code, a.report(o.Config.ID, e.cfg, e.cfg.Orgs[i].Index, run, err))
	}
	return code
}

// worse returns the more serious of two exit codes.
func worse(a, b int) int {
	rank := map[int]int{ExitOK: 0, ExitPartial: 1, ExitHeld: 2, ExitFailed: 3, ExitUsage: 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// report prints a run's outcome and returns its exit code. index is the
// organization's position in the configuration file, for messages.
func (a *app) report(orgID string, cfg *Config, index int, run adsync.Run, err error) int {
	if run.ID == 0 && err != nil {
		fmt.Fprintf(a.stderr, "adsync: %s: %v\n", orgID, err)
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
func writeRun(w io.Writer, r adsync.Run) {
	fmt.Fprintf(w, "%s: run %d (%s) %s in %s\n", r.OrgID, r.ID, r.Trigger, r.Status, r.Duration().Round(time.Millisecond))
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
func writeHeld(w io.Writer, orgID string, cfg *Config, index int, r adsync.Run) {
	fmt.Fprintf(w, "\n%s: run %d is HELD: it would deactivate %d contacts, more than the guard allows (R-DEACT-4).\n", orgID, r.ID, len(r.Held))
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
	return a.report(o.Config.ID, e.cfg, e.cfg.Orgs[0].Index, run, err)
}

// history lists the last runs of each organization.
func (a *app) history(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	asJSON := fs.Bool("json", false, "print the runs as JSON, with their warnings, skips and failures")
	var cf changeFlags
	cf.register(&fs)
	e, code := a.open(ctx, "history", &fs, args, "warn", true, nil)
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
	e, err := a.setup(ctx, true, nil)
	if err != nil {
		return a.fail(err)
	}
	defer e.close()
	switch sub {
	case "resolve":
		o := e.orgs[0]
		r := adsync.Resolution{OrgID: o.Config.ID, UserID: *user, Action: action, ContactID: *link, By: *by, CreatedAt: time.Now()}
		if err := e.syncer.Resolve(ctx, o.Config, r); err != nil {
			return a.fail(err)
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
	e, code := a.open(ctx, "status", &fs, args, "warn", true, nil)
	if e == nil {
		return code
	}
	defer e.close()
	st, err := e.syncer.Status(ctx, e.cfg.orgConfigs())
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
