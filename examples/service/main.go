// Command service runs adsync as a long-lived service: a Scheduler syncs
// every organization every 24 hours from the start of its last attempt
// (the schedule survives restarts: it is read from the history), and a small
// HTTP API shows the admin table and forces runs. SIGINT or SIGTERM stops it
// gracefully: runs in flight finish their batch and are recorded.
//
//	GET  /status          the admin table (R-STATUS-1), as JSON
//	POST /force?org=ID    run an organization now (R-RUN-2)
//
//	export GRAPH_TENANT_ID=... GRAPH_CLIENT_ID=... GRAPH_CLIENT_SECRET=... GRAPH_GROUP_ID=...
//	export AUTOTASK_USERNAME=... AUTOTASK_INTEGRATION_CODE=... AUTOTASK_SECRET=...
//	go run ./examples/service -company 174 -listen 127.0.0.1:8080
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
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/graph"
)

func main() {
	company := flag.Int64("company", 0, "the Autotask company id")
	listen := flag.String("listen", "127.0.0.1:8080", "the admin API's address")
	db := flag.String("db", "adsync-history.db", "the SQLite history file")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	src, err := graph.New(graph.Config{TenantID: os.Getenv("GRAPH_TENANT_ID"), ClientID: os.Getenv("GRAPH_CLIENT_ID"),
		ClientSecret: adsync.NewSecret(os.Getenv("GRAPH_CLIENT_SECRET")), GroupID: os.Getenv("GRAPH_GROUP_ID"), Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	store, err := autotask.New(autotask.Config{Username: os.Getenv("AUTOTASK_USERNAME"),
		IntegrationCode: os.Getenv("AUTOTASK_INTEGRATION_CODE"), Secret: os.Getenv("AUTOTASK_SECRET"), Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	orgs := []adsync.Org{{Source: src, Config: adsync.OrgConfig{ID: "contoso", CompanyID: *company, Enabled: true,
		Directory: adsync.DirectoryAzure}}}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, ln, store, *db, orgs, logger, nil); err != nil {
		log.Fatal(err)
	}
}

// serve runs the scheduler and the admin API until ctx is cancelled. onRun,
// when set, is called after each run.
func serve(ctx context.Context, ln net.Listener, store adsync.ContactStore, db string, orgs []adsync.Org,
	logger *slog.Logger, onRun func(adsync.Run, error)) error {
	hist, err := sqlite.Open(ctx, db, &sqlite.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer hist.Close()
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
