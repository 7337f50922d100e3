package postgres_test

import (
	"context"
	"errors"
	"log"
	"os"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/postgres"
)

// Open the shared history, mark the runs of dead replicas as interrupted,
// then run an organization unless another replica is running it.
func ExampleOpen() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, os.Getenv("ADSYNC_PG_DSN"), &postgres.Options{MaxConns: 4})
	if err != nil {
		log.Fatal(err) // names the server, never the password
	}
	defer store.Close()
	if _, err := store.InterruptRuns(ctx, time.Now()); err != nil {
		log.Fatal(err)
	}

	lock, err := store.TryLock(ctx, "contoso")
	if errors.Is(err, adsync.ErrRunInProgress) {
		return // another replica is on it
	} else if err != nil {
		log.Fatal(err)
	}
	defer lock.Unlock()
	// ... sync "contoso" with this store as the Syncer's History ...
}
