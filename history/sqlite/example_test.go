package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/sqlite"
)

// Open the history file, mark the runs a previous process left running as
// interrupted, then record a run.
func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "adsync-example")
	defer os.RemoveAll(dir)

	store, err := sqlite.Open(ctx, filepath.Join(dir, "history.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if _, err := store.InterruptRuns(ctx, time.Now()); err != nil {
		log.Fatal(err)
	}

	lock, err := store.TryLock(ctx, "contoso") // one run per organization
	if err != nil {
		log.Fatal(err)
	}
	defer lock.Unlock()
	run, _ := store.StartRun(ctx, adsync.Run{OrgID: "contoso", Trigger: adsync.TriggerScheduled,
		Status: adsync.StatusRunning, Started: time.Now()})
	run.Status, run.Ended = adsync.StatusSucceeded, time.Now()
	_ = store.FinishRun(ctx, run)

	runs, _ := store.Runs(ctx, "contoso", 10)
	fmt.Println(len(runs), runs[0].Status)
	// Output: 1 succeeded
}
