package cli

import (
	"context"
	"flag"
	"fmt"
	"time"
)

// setupOrg sets up a command that acts on the one organization named by
// --org, and marks the runs a dead process left running interrupted (they
// would refuse an approval or an undo). A nil env means the command must
// return code.
func (a *app) setupOrg(ctx context.Context, name string, pr *progress) (*env, int) {
	if len(a.orgs) != 1 {
		return nil, a.usageError(name + ": name the organization with --org ID")
	}
	e, err := a.setup(ctx, needAll, pr.update)
	if err != nil {
		return nil, a.fail(err)
	}
	if _, err := e.hist.InterruptRuns(ctx, time.Now()); err != nil {
		e.close()
		return nil, a.fail(err)
	}
	return e, ExitOK
}

// undo plans the inverse of a run's writes and, with --apply, applies it
// as a run of its own (trigger undo).
func (a *app) undo(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	runID := fs.Int64("run", 0, "the run to undo")
	apply := fs.Bool("apply", false, "write the undo (default: print the plan only)")
	if !a.parse("undo", &fs, args, "warn") {
		return a.parseCode()
	}
	if *runID <= 0 {
		return a.usageError("undo: name the run to undo with --run N (adsync history --org ID lists the runs)")
	}
	pr := a.newProgress()
	e, code := a.setupOrg(ctx, "undo", pr)
	if e == nil {
		return code
	}
	defer e.close()
	o := e.orgs[0]
	p, err := e.syncer.PlanUndo(ctx, o, *runID)
	pr.done()
	if err != nil {
		fmt.Fprintln(a.stderr, orgError(o.Config.ID, err))
		return ExitFailed
	}
	_, _ = p.WriteTo(a.stdout)
	if !*apply {
		fmt.Fprintf(a.stdout, "\nDry run: nothing was written. Apply the undo with:\n  adsync undo --org %s --run %d --apply\n", o.Config.ID, *runID)
		return ExitOK
	}
	fmt.Fprintln(a.stdout)
	run, err := e.syncer.Apply(ctx, o, p)
	pr.done()
	code = a.report(o.Config.ID, e.cfg, e.cfg.Organizations[0].Index, run, err)
	if run.ID != 0 {
		fmt.Fprintf(a.stdout, "The undo is run %d; its changes: adsync history --org %s --run %d (undo it with adsync undo --org %s --run %d)\n",
			run.ID, o.Config.ID, run.ID, o.Config.ID, run.ID)
	}
	return code
}
