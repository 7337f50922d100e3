package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/console"
)

// serve runs the scheduler for every organization until ctx is cancelled
// (main cancels it on SIGINT or SIGTERM): each enabled organization runs every
// 24 hours from the start of its last attempt (R-RUN-1), the schedule kept in
// the history store across restarts. On a stop, runs in flight finish their
// batch and are recorded.
func (a *app) serve(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	httpAddr := fs.String("http", "", "serve the admin console on this address, e.g. 127.0.0.1:8080 (default: http.listen of the configuration; none: no console)")
	var con atomic.Pointer[console.Console] // the Syncer reports progress to the console once it runs
	var obs observability
	a.observe = a.observer(&obs)
	e, code := a.open(ctx, "serve", &fs, args, "info", needAll, func(p adsync.Progress) {
		if c := con.Load(); c != nil {
			c.Progress(p)
		}
	})
	if e == nil {
		obs.close()
		return code
	}
	defer e.close()
	defer obs.close() // first: queued alerts still need the store

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
	if addr := cmp.Or(*httpAddr, e.cfg.HTTP.Listen); addr != "" {
		h := e.cfg.HTTP
		auth, err := consoleAuth(e.cfg)
		if err != nil {
			return a.fail(err)
		}
		c, stop, bound, err := startConsole(addr, h.TLSCert, h.TLSKey, console.Options{Syncer: e.syncer, Orgs: console.StaticOrgs(e.orgs),
			Scheduler: sc, Contacts: e.store, Auth: auth, BaseContext: ctx, Logger: a.log}, a.log)
		if err != nil {
			return a.fail(err)
		}
		defer stop()
		con.Store(c)
		a.log.Info("admin console", "url", consoleURL(bound, h.TLSCert != ""))
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
