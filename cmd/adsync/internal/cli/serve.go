package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/psasync/adsync"
)

// serve runs the scheduler for every organization until ctx is cancelled
// (main cancels it on SIGINT or SIGTERM): each enabled organization runs every
// 24 hours from the start of its last attempt (R-RUN-1), the schedule kept in
// the history store across restarts. On a stop, runs in flight finish their
// batch and are recorded.
func (a *app) serve(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	e, code := a.open(ctx, "serve", &fs, args, "info", needAll, nil)
	if e == nil {
		return code
	}
	defer e.close()
	if n, err := e.hist.InterruptRuns(ctx, time.Now()); err != nil {
		return a.fail(err)
	} else if n > 0 {
		a.log.Warn("runs left running by a stopped process were marked interrupted", "runs", n)
	}
	sc, err := adsync.NewScheduler(e.syncer, e.orgs, &adsync.SchedulerOptions{
		Interval: e.cfg.Interval, Parallelism: e.cfg.Parallel, Logger: a.log,
		// The Syncer logs each run's end (run finished, with its status
		// and counts); OnRun reports the error, once, and the held runs.
		OnRun: func(r adsync.Run, err error) {
			switch {
			case errors.Is(err, adsync.ErrRunInProgress):
				// A replica runs it: not a failure of this one.
				a.log.Info("run skipped: another process is running the organization", "err", err)
			case err != nil:
				a.log.Error("run failed", "org", r.OrgID, "run", r.ID, "err", err)
			case r.Status == adsync.StatusHeld:
				a.log.Warn("deactivations held for approval", "org", r.OrgID, "run", r.ID, "held", len(r.Held),
					"approve", fmt.Sprintf("adsync approve --org %s --run %d", r.OrgID, r.ID))
			}
		},
	})
	if err != nil {
		return a.fail(err)
	}
	enabled := 0
	for _, o := range e.orgs {
		if o.Config.Enabled {
			enabled++
		}
	}
	a.log.Info("serving", "organizations", len(e.orgs), "enabled", enabled, "interval", intervalOr(e.cfg.Interval))
	if err := sc.Run(ctx); err != nil {
		return a.fail(err)
	}
	a.log.Info("stopped")
	return ExitOK
}

func intervalOr(d time.Duration) time.Duration {
	if d == 0 {
		return adsync.DefaultInterval
	}
	return d
}
