package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/metrics"
	"github.com/psasync/adsync/notify"
)

// observability is what serve adds to the Syncer: alerts and metrics.
type observability struct {
	notifier *notify.Notifier // nil without alerts
	metrics  *metrics.Metrics
	srv      *http.Server // nil without metrics.listen
}

// observer builds the alerts and metrics on the open history store, and
// starts the metrics listener when one is configured.
func (a *app) observer(o *observability) func(*env) (adsync.Observer, error) {
	return func(e *env) (adsync.Observer, error) {
		dirs := map[string]adsync.DirectoryType{}
		for _, org := range e.orgs {
			dirs[org.Config.ID] = org.Config.Directory
		}
		m, err := metrics.New(metrics.Options{Budget: e.store, Directories: dirs, History: e.hist})
		if err != nil {
			return nil, err
		}
		o.metrics = m
		if c := e.cfg.Alerts; c != nil {
			nc := *c
			nc.Store, nc.Logger = e.hist, a.log
			if o.notifier, err = notify.New(nc); err != nil {
				return nil, err
			}
		}
		if addr := e.cfg.MetricsListen; addr != "" {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return nil, &InputError{File: e.cfg.Path, Field: "metrics.listen", Msg: fmt.Sprintf("cannot listen on %s: %v", addr, err)}
			}
			mux := http.NewServeMux()
			m.Mount(mux)
			o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				if err := o.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
					a.log.Error("metrics listener stopped", "error", err)
				}
			}()
			a.log.Info("serving /metrics, /healthz and /readyz", "address", l.Addr().String())
		}
		if o.notifier == nil {
			return m, nil
		}
		return adsync.Observers(m, o.notifier), nil
	}
}

// close stops the listener and delivers the alerts still queued, for at
// most half a minute.
func (o *observability) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if o.srv != nil {
		_ = o.srv.Shutdown(ctx)
	}
	if o.notifier != nil {
		_ = o.notifier.Close(ctx)
	}
}

// alert runs `adsync alert test`: a test message to each alert channel.
func (a *app) alert(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "test" {
		return a.usageError("alert: want the subcommand test (adsync alert test)")
	}
	var fs flag.FlagSet
	if !a.parse("alert test", &fs, args[1:], "warn") {
		return a.parseCode()
	}
	cfg, err := a.loadConfig(false)
	if err != nil {
		return a.fail(err)
	}
	if cfg.Alerts == nil || len(cfg.Alerts.Routes) == 0 {
		return a.fail(&InputError{File: cfg.Path, Field: "alerts.channels", Msg: "no alert channel is configured"})
	}
	nc := *cfg.Alerts
	nc.Store, nc.Logger = history.NewMemory(), a.log // a test records no state
	n, err := notify.New(nc)
	if err != nil {
		return a.fail(err)
	}
	defer n.Close(ctx)
	if err := n.Test(ctx); err != nil {
		return a.fail(err)
	}
	for _, r := range nc.Routes {
		fmt.Fprintf(a.stdout, "test alert sent to %s\n", r.Channel.Name())
	}
	return ExitOK
}
