// Command graph embeds adsync with an Entra ID directory: it syncs the
// members of one group (nested groups included) into one Autotask company,
// with the history in a SQLite file. It prints the plan, and applies it with
// -apply.
//
//	export GRAPH_TENANT_ID=contoso.onmicrosoft.com GRAPH_CLIENT_ID=... GRAPH_CLIENT_SECRET=...
//	export GRAPH_GROUP_ID=... AUTOTASK_USERNAME=... AUTOTASK_INTEGRATION_CODE=... AUTOTASK_SECRET=...
//	go run ./examples/graph -company 174 [-apply]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/graph"
)

// settings are what the program needs; main takes them from the
// environment and flags, the test from the emulators.
type settings struct {
	Graph     graph.Config
	Autotask  autotask.Config
	CompanyID int64
	DB        string
	Apply     bool
}

func main() {
	s := settings{
		Graph: graph.Config{TenantID: os.Getenv("GRAPH_TENANT_ID"), ClientID: os.Getenv("GRAPH_CLIENT_ID"),
			ClientSecret: adsync.NewSecret(os.Getenv("GRAPH_CLIENT_SECRET")), GroupID: os.Getenv("GRAPH_GROUP_ID")},
		Autotask: autotask.Config{Username: os.Getenv("AUTOTASK_USERNAME"), IntegrationCode: os.Getenv("AUTOTASK_INTEGRATION_CODE"),
			Secret: adsync.NewSecret(os.Getenv("AUTOTASK_SECRET"))},
	}
	flag.Int64Var(&s.CompanyID, "company", 0, "the Autotask company id")
	flag.StringVar(&s.DB, "db", "adsync-history.db", "the SQLite history file")
	flag.BoolVar(&s.Apply, "apply", false, "apply the plan (default: print it only)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, s); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer, s settings) error {
	// Each constructor validates its configuration without I/O: mistakes
	// surface here, as *adsync.ConfigError naming the setting.
	src, err := graph.New(s.Graph)
	if err != nil {
		return err
	}
	store, err := autotask.New(s.Autotask)
	if err != nil {
		return err
	}
	hist, err := sqlite.Open(ctx, s.DB, nil)
	if err != nil {
		return err
	}
	defer hist.Close()
	if _, err := hist.InterruptRuns(ctx, time.Now()); err != nil { // runs left by a crashed process (R-RUN-7)
		return err
	}
	syncer, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil), Fields: merge.New})
	if err != nil {
		return err
	}
	org := adsync.Org{Source: src, Config: adsync.OrgConfig{ID: "contoso", CompanyID: s.CompanyID, Enabled: true,
		Directory: adsync.DirectoryAzure}}

	plan, err := syncer.Plan(ctx, org) // a dry run
	if err != nil {
		return err
	}
	if _, err := plan.WriteTo(w); err != nil {
		return err
	}
	if !s.Apply {
		return nil
	}
	r, err := syncer.Apply(ctx, org, plan)
	if err != nil {
		return fmt.Errorf("run %d: %w", r.ID, err)
	}
	fmt.Fprintf(w, "run %d %s: %s\n", r.ID, r.Status, r.Counts)
	return nil
}
