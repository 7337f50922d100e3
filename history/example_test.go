package history_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history"
)

// A run is started, finished, and listed; the links it made are kept.
func ExampleNewMemory() {
	ctx := context.Background()
	store := history.NewMemory()

	run, _ := store.StartRun(ctx, adsync.Run{OrgID: "contoso", Trigger: adsync.TriggerForced,
		Status: adsync.StatusRunning, Started: time.Now()})
	_ = store.PutLinks(ctx, "contoso", []adsync.Link{{UserID: "0b6f…", ContactID: 30001, Created: true}})
	run.Status, run.Ended, run.Counts.Created = adsync.StatusSucceeded, time.Now(), 1
	_ = store.FinishRun(ctx, run)

	runs, _ := store.Runs(ctx, "contoso", 10)
	links, _ := store.Links(ctx, "contoso")
	fmt.Println(runs[0].Status, runs[0].Counts.Created, "created;", len(links), "link to contact", links[0].ContactID)
	// Output: succeeded 1 created; 1 link to contact 30001
}

// The per-organization lock refuses a second run of the same organization.
func ExampleMemory_TryLock() {
	ctx := context.Background()
	store := history.NewMemory()

	lock, _ := store.TryLock(ctx, "contoso")
	_, err := store.TryLock(ctx, "contoso")
	fmt.Println(errors.Is(err, adsync.ErrRunInProgress))
	lock.Unlock()
	_, err = store.TryLock(ctx, "contoso")
	fmt.Println(err)
	// Output:
	// true
	// <nil>
}
