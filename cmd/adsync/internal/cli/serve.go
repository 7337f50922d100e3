package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/console"
	"github.com/psasync/adsync/metrics"
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
		loopback := console.IsLoopback(addr)
		c, stop, bound, err := startConsoleWith(addr, h.TLSCert, h.TLSKey, console.Options{Syncer: e.syncer, Orgs: console.StaticOrgs(e.orgs),
			Scheduler: sc, Contacts: e.store, Auth: auth, BaseContext: ctx, Logger: a.log}, a.log,
			func(c *console.Console) http.Handler { return consoleRoutes(c, obs.metrics, loopback) })
		if err != nil {
			return a.fail(err)
		}
		defer stop()
		con.Store(c)
		a.log.Info("admin console", "url", consoleURL(bound, h.TLSCert != ""))
		if obs.metrics != nil {
			access := "unauthenticated: the console listens on loopback"
			if !loopback {
				access = "to a signed-in console session only: scrape metrics.listen instead"
			}
			a.log.Info("serving /healthz and /readyz unauthenticated, and /metrics, on the console's address", "metrics", access)
		}
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

// consoleRoutes serves the console with /healthz, /readyz and /metrics
// beside it. The probes need no sign-in (a load balancer or a kubelet signs
// in to nothing, and they tell only whether the service is up and ready).
// /metrics is open when the console listens on loopback, where only this
// machine's processes reach it; on any other address it is served to a
// signed-in console session only, and a Prometheus server scrapes the
// separate metrics.listen instead.
func consoleRoutes(c *console.Console, m *metrics.Metrics, loopback bool) http.Handler {
	if m == nil {
		return c
	}
	mux := http.NewServeMux()
	mux.Handle("/", c)
	mux.Handle("GET /healthz", metrics.Healthz())
	mux.Handle("GET /readyz", m.Readyz())
	var h http.Handler = m.Handler()
	if !loopback {
		h = c.RequireSignIn(h)
	}
	mux.Handle("GET /metrics", h)
	return mux
}

func intervalOr(d time.Duration) time.Duration {
	if d == 0 {
		return adsync.DefaultInterval
	}
	return d
}
