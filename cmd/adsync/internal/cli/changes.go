package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/psasync/adsync"
)

// changeFlags select change-log records for adsync history.
type changeFlags struct {
	run     int64
	contact int64
	user    string
	kind    string
}

func (f *changeFlags) register(fs *flag.FlagSet) {
	fs.Int64Var(&f.run, "run", 0, "list the changes of this run")
	fs.Int64Var(&f.contact, "contact", 0, "list every change to this Autotask contact across the kept runs")
	fs.StringVar(&f.user, "user", "", "list every change for this directory user id across the kept runs")
	fs.StringVar(&f.kind, "kind", "", "only changes of this kind: create, link, update, reactivate or deactivate")
}

// set reports whether the change log was asked for rather than the runs.
func (f *changeFlags) set() bool { return f.run != 0 || f.contact != 0 || f.user != "" || f.kind != "" }

// changeKinds are the kinds --kind takes.
var changeKinds = adsync.ChangeKinds()

func (f *changeFlags) filter() (adsync.ChangeFilter, error) {
	cf := adsync.ChangeFilter{RunID: f.run, ContactID: f.contact, UserID: f.user, Kind: adsync.ChangeKind(f.kind),
		Limit: adsync.MaxChangePage}
	if f.kind == "" {
		return cf, nil
	}
	for _, k := range changeKinds {
		if cf.Kind == k {
			return cf, nil
		}
	}
	names := make([]string, len(changeKinds))
	for i, k := range changeKinds {
		names[i] = string(k)
	}
	return cf, fmt.Errorf("--kind %q: want one of %s", f.kind, strings.Join(names, ", "))
}

// changeJSON is a change-log record with its run's time and trigger, as
// --json prints it.
type changeJSON struct {
	adsync.ChangeRecord
	RunStarted time.Time      `json:"runStarted"`
	RunTrigger adsync.Trigger `json:"runTrigger"`
}

// changes lists the change log of one organization: one run's changes, or
// every change to a contact or user across the kept runs. It streams page
// by page: a first run may have logged 400,000 changes.
func (a *app) changes(ctx context.Context, e *env, f *changeFlags, asJSON bool) int {
	if len(e.orgs) != 1 {
		return a.usageError("history: name the organization with --org ID to list changes")
	}
	cf, err := f.filter()
	if err != nil {
		return a.usageError("history: " + err.Error())
	}
	orgID := e.orgs[0].Config.ID
	runs, err := e.hist.Runs(ctx, orgID, 0)
	if err != nil {
		return a.fail(err)
	}
	byID := make(map[int64]adsync.Run, len(runs))
	for _, r := range runs {
		byID[r.ID] = r
	}
	if f.run != 0 {
		r, ok := byID[f.run]
		if !ok {
			fmt.Fprintf(a.stderr, "adsync: %s: run %d is not in the history (it keeps the newest %d runs of each organization; adsync history --org %s lists them)\n",
				orgID, f.run, adsync.KeepRuns, orgID)
			return ExitFailed
		}
		if !asJSON {
			fmt.Fprintf(a.stdout, "%s: run %d (%s, %s, started %s): %s\n", orgID, r.ID, r.Trigger, r.Status, formatTime(r.Started), r.Counts)
		}
	} else if !asJSON {
		fmt.Fprintf(a.stdout, "%s: changes %s across the %d kept runs, oldest first\n", orgID, describeFilter(f), len(runs))
	}
	if asJSON {
		fmt.Fprint(a.stdout, "[")
	}
	n := 0
	for rec, err := range e.syncer.AllChanges(ctx, orgID, cf) {
		if err != nil {
			return a.fail(err)
		}
		r := byID[rec.RunID]
		if asJSON {
			b, err := json.Marshal(changeJSON{ChangeRecord: rec, RunStarted: r.Started, RunTrigger: r.Trigger})
			if err != nil {
				return a.fail(err)
			}
			if n > 0 {
				fmt.Fprint(a.stdout, ",")
			}
			fmt.Fprintf(a.stdout, "\n  %s", b)
		} else {
			writeChange(a.stdout, &rec, r, f.run == 0)
		}
		n++
	}
	if asJSON {
		if n > 0 {
			fmt.Fprintln(a.stdout)
		}
		fmt.Fprintln(a.stdout, "]")
		return ExitOK
	}
	fmt.Fprintf(a.stdout, "%d changes\n", n)
	return ExitOK
}

func describeFilter(f *changeFlags) string {
	s := ""
	if f.contact != 0 {
		s += fmt.Sprintf(" to contact %d", f.contact)
	}
	if f.user != "" {
		s += " for user " + f.user
	}
	if f.kind != "" {
		s += " of kind " + f.kind
	}
	if s == "" {
		return "of every kind"
	}
	return s[1:]
}

// writeChange prints one record, with its run when the list spans runs.
func writeChange(w io.Writer, rec *adsync.ChangeRecord, r adsync.Run, withRun bool) {
	if withRun {
		fmt.Fprintf(w, "  run %d, %s, %s:\n", rec.RunID, formatTime(r.Started), r.Trigger)
	}
	_, _ = rec.WriteTo(&indent{w: w, prefix: "  "})
}

// indent prefixes each line written through it.
type indent struct {
	w      io.Writer
	prefix string
	mid    bool // within a line
}

func (in *indent) Write(p []byte) (int, error) {
	for i, b := range p {
		if !in.mid {
			if _, err := io.WriteString(in.w, in.prefix); err != nil {
				return i, err
			}
		}
		if _, err := in.w.Write([]byte{b}); err != nil {
			return i, err
		}
		in.mid = b != '\n'
	}
	return len(p), nil
}
