// Command customhistory runs adsync with a HistoryStore of its own: the
// history in one JSON file (store.go). It syncs a small in-memory directory
// into an in-memory Autotask company twice, then reopens the file to show
// that links, runs and conflicts survived.
//
//	go run ./examples/customhistory [-file history.json]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

func main() {
	file := flag.String("file", "history.json", "the history file")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *file); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer, file string) error {
	dir := sourcetest.NewMemory(nil)
	for _, n := range [][3]string{{"Ann", "Lee", "ann@contoso.example"}, {"Bob", "Ray", "bob@contoso.example"},
		{"Cy", "Twombly", "info@contoso.example"}, {"Di", "Fox", "info@contoso.example"}} {
		u := adsync.User{Enabled: true}
		u.Values[adsync.FirstName], u.Values[adsync.LastName], u.Values[adsync.Email] = n[0], n[1], n[2]
		dir.Add(u)
	}
	store := contacts.NewMemory(nil)
	store.AddCompany(174, "Contoso")
	org := adsync.Org{Config: adsync.OrgConfig{ID: "contoso", CompanyID: 174, Enabled: true}, Source: dir}

	for pass := 1; pass <= 2; pass++ {
		hist, err := OpenFileStore(file) // a new process each time, as far as the history knows
		if err != nil {
			return err
		}
		s, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil), Fields: merge.New})
		if err != nil {
			return err
		}
		if _, err := hist.InterruptRuns(ctx, time.Now()); err != nil { // R-RUN-7: a new process marks runs left running
			return err
		}
		r, err := s.Sync(ctx, org, adsync.TriggerForced)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "run %d: %s: %s\n", r.ID, r.Status, r.Counts)
	}
	hist, err := OpenFileStore(file)
	if err != nil {
		return err
	}
	runs, _ := hist.Runs(ctx, "contoso", 0)
	links, _ := hist.Links(ctx, "contoso")
	cs, _ := hist.Conflicts(ctx, "contoso")
	fmt.Fprintf(w, "%s holds %d runs, %d links, %d open conflicts\n", file, len(runs), len(links), len(cs))
	return nil
}
