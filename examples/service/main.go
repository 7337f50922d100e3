// Command service runs adsync as a long-lived service: a Scheduler syncs
// every organization every 24 hours from the start of its last attempt
// (the schedule survives restarts: it is read from the history), and a small
// HTTP API shows the admin table and forces runs. SIGINT or SIGTERM stops it
// gracefully: runs in flight finish their batch and are recorded.
//
//	GET  /status          the admin table (R-STATUS-1), as JSON
//	POST /force?org=ID    run an organization now (R-RUN-2)
//
// The organizations, Autotask and the history store come from an adsync.yaml,
// loaded with the config package (the adsync command's format: README.md,
// "Configuration"):
//
//	export AUTOTASK_SECRET=... CONTOSO_GRAPH_SECRET=...   # named by ...Env in the file
//	go run ./examples/service -config adsync.yaml -listen 127.0.0.1:8080
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/config"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	// Entra ID organizations: registers the azure directory kind.
	_ "github.com/psasync/adsync/source/graph/graphconfig"
)

func main() {
	path := flag.String("config", "adsync.yaml", "the configuration file")
	listen := flag.String("listen", "127.0.0.1:8080", "the admin API's address")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	cfg, err := config.Load(*path, &config.Options{Logger: logger})
	if err != nil {
		log.Fatal(err) // names the file, the line and the setting
	}
	store, err := cfg.ContactStore()
	if err != nil {
		log.Fatal(err)
	}
	orgs, err := cfg.Orgs()
	if err != nil {
		log.Fatal(err)
	}
	spec, err := cfg.HistorySpec(os.Getenv("ADSYNC_STORE"))
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hist, err := cfg.History(ctx, spec, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer hist.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if err := serve(ctx, ln, store, hist, orgs, logger, nil); err != nil {
		log.Fatal(err)
	}
}

// serve runs the scheduler and the admin API until ctx is cancelled. onRun,
// when set, is called after each run.
func serve(ctx context.Context, ln net.Listener, store adsync.ContactStore, hist adsync.HistoryStore, orgs []adsync.Org,
	logger *slog.Logger, onRun func(adsync.Run, error)) error {
	// A run a crashed process left "running" is marked interrupted; the
	// next run reconciles it (R-RUN-7).
	if _, err := hist.InterruptRuns(ctx, time.Now()); err != nil {
		return err
	}
	syncer, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil),
		Fields: merge.New, Logger: logger})
	if err != nil {
		return err
	}
	sc, err := adsync.NewScheduler(syncer, orgs, &adsync.SchedulerOptions{Logger: logger,
		OnRun: func(r adsync.Run, err error) {
			logger.Info("run finished", "org", r.OrgID, "run", r.ID, "status", r.Status, "counts", r.Counts.String())
			if r.Status == adsync.StatusHeld {
				logger.Warn("deactivations held for approval", "org", r.OrgID, "run", r.ID, "held", len(r.Held))
			}
			if onRun != nil {
				onRun(r, err)
			}
		}})
	if err != nil {
		return err
	}
	configs := make([]adsync.OrgConfig, len(orgs))
	for i, o := range orgs {
		configs[i] = o.Config
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st, err := syncer.Status(r.Context(), configs)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	mux.HandleFunc("POST /force", func(w http.ResponseWriter, r *http.Request) {
		err := sc.Force(r.URL.Query().Get("org"))
		switch {
		case errors.Is(err, adsync.ErrNotFound):
			http.Error(w, err.Error(), http.StatusNotFound)
		case errors.Is(err, adsync.ErrOrgDisabled):
			http.Error(w, err.Error(), http.StatusConflict)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("admin API", "err", err)
		}
	}()

	err = sc.Run(ctx) // until ctx is cancelled; waits for the runs in flight
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return err
}
