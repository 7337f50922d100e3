package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/history/postgres"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

// writeCounter is a history store that counts the link and conflict
// writes made after stopped is set: a run that lost its lock must make
// none (R-RUN-5).
type writeCounter struct {
	*postgres.Store
	stopped *atomic.Bool
	after   atomic.Int64
}

func (w *writeCounter) count() {
	if w.stopped.Load() {
		w.after.Add(1)
	}
}

func (w *writeCounter) PutLinks(ctx context.Context, orgID string, links []adsync.Link) error {
	w.count()
	return w.Store.PutLinks(ctx, orgID, links)
}

func (w *writeCounter) DeleteLinks(ctx context.Context, orgID string, userIDs []string) error {
	w.count()
	return w.Store.DeleteLinks(ctx, orgID, userIDs)
}

func (w *writeCounter) ReplaceConflicts(ctx context.Context, orgID string, cs []adsync.Conflict) error {
	w.count()
	return w.Store.ReplaceConflicts(ctx, orgID, cs)
}

// killLockSession ends, server-side, the session holding the advisory
// lock key: what a broken lock connection looks like to the server.
func killLockSession(ctx context.Context, dsn string, key int64) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var killed int
	// With a timeout, pg_terminate_backend waits until the session is
	// gone: without, it only signals it, and the holder may still be
	// answered once (a race under load).
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1::bigint::oid AND objid = $2::bigint::oid`,
		int64(uint64(key)>>32), int64(uint32(key))).Scan(&killed)
	if err == nil && killed != 1 {
		err = fmt.Errorf("%d sessions hold the lock, want 1", killed)
	}
	return err
}

// R-RUN-5: a run whose PostgreSQL lock session is killed mid-run stops
// before its next batch, fails with ErrLockLost, and a replica waiting for
// the organization takes it and finishes the job without a duplicate.
//
// Killed between two batches, the run writes nothing more. Killed in the
// middle of a batch, it finishes that batch (its writes are in flight) and
// saves its links, then stops. That batch is the window this design
// leaves: a replica that took the organization at once could create its
// users again, so in that case the test starts the second replica once the
// first run returned.
func TestRRUN5LostLockStopsTheRun(t *testing.T) {
	const users, batch = 200, 50
	for _, tc := range []struct {
		name     string
		midBatch bool // kill at the 10th create of the second batch, not after the first batch
	}{
		{"between batches", false},
		{"in the middle of a batch", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			dsn := freshSchema(t)
			storeA, storeB := open(t, dsn), open(t, dsn)

			contactStore := contacts.NewMemory(nil)
			contactStore.AddCompany(100, "Contoso")
			src := sourcetest.NewMemory(nil)
			for i := range users {
				u := adsync.User{ID: fmt.Sprintf("u%03d", i), Enabled: true}
				u.Values[adsync.FirstName], u.Values[adsync.LastName] = fmt.Sprint("First", i), fmt.Sprint("Last", i)
				u.Values[adsync.Email] = fmt.Sprintf("u%03d@x.example", i)
				src.Put(u)
			}
			org := adsync.Org{Config: adsync.OrgConfig{ID: "contoso", CompanyID: 100, Enabled: true, Directory: adsync.DirectoryLDAP}, Source: src}

			var (
				killed        atomic.Bool
				createsAtKill int64
				killErr       error
				waitB         sync.Once
				startB        = make(chan struct{})
				firstTryB     = make(chan struct{})
				doneA         = make(chan struct{})
				creates       atomic.Int64
			)
			kill := func(createsSoFar int64) {
				createsAtKill = createsSoFar
				killErr = killLockSession(ctx, dsn, postgres.LockKey(storeA, "contoso"))
				killed.Store(true)
			}
			if tc.midBatch {
				// A hook, not a fault: the rule lets every call through.
				contactStore.FailWhere(func(c contacts.Call) error {
					if c.Method == contacts.MethodCreate && creates.Add(1) == batch+10 {
						kill(batch + 9)
					}
					return nil
				})
			}
			histA := &writeCounter{Store: storeA, stopped: &killed}
			// A's own creates: B shares the contact store, and may create
			// while A is still finishing once it has the organization.
			storeOfA := &createCounter{Memory: contactStore}
			syncerA, err := adsync.NewSyncer(adsync.Options{History: histA, Store: storeOfA, Matcher: matcher.New(nil), Fields: merge.New,
				BatchSize: batch,
				Progress: func(p adsync.Progress) {
					// A holds the organization: replica B starts waiting for it.
					waitB.Do(func() { close(startB); <-firstTryB })
					if !tc.midBatch && p.Phase == adsync.PhaseApply && p.Done >= batch && !killed.Load() {
						kill(contactStore.Counts().Creates)
					}
				}})
			require.NoError(t, err)
			syncerB, err := adsync.NewSyncer(adsync.Options{History: storeB, Store: contactStore, Matcher: matcher.New(nil), Fields: merge.New, BatchSize: batch})
			require.NoError(t, err)

			// Replica B tries once A holds the organization, then waits for it.
			var (
				wg     sync.WaitGroup
				runB   adsync.Run
				errB   error
				triesB int
			)
			wg.Go(func() {
				wctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				select {
				case <-startB:
				case <-wctx.Done():
					errB = wctx.Err()
					close(firstTryB)
					return
				}
				for {
					runB, errB = syncerB.Sync(wctx, org, adsync.TriggerScheduled)
					if triesB++; triesB == 1 {
						close(firstTryB)
						if tc.midBatch {
							<-doneA
						}
					}
					if !errors.Is(errB, adsync.ErrRunInProgress) || wctx.Err() != nil {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			})

			runA, errA := syncerA.Sync(ctx, org, adsync.TriggerScheduled)
			close(doneA)
			createsByA := storeOfA.n.Load()
			wg.Wait()

			require.NoError(t, killErr, "kill the lock's session")
			require.True(t, killed.Load(), "the lock's session was killed")
			require.ErrorIs(t, errA, adsync.ErrLockLost, "run A after its lock session died")
			require.Equal(t, adsync.StatusFailed, runA.Status)
			require.Contains(t, runA.Error, adsync.ErrLockLost.Error())
			if tc.midBatch {
				require.Equal(t, int64(batch+9), createsAtKill)
				require.Equal(t, int64(2*batch), createsByA, "A finished the batch in flight, and no more")
				require.LessOrEqual(t, histA.after.Load(), int64(1), "after the kill A saved at most the links of the batch in flight")
			} else {
				require.Equal(t, int64(batch), createsAtKill, "A wrote its first batch before the kill")
				require.Equal(t, int64(batch), createsByA, "A wrote nothing after the kill")
				require.Zero(t, histA.after.Load(), "A saved links or conflicts after its lock was lost")
			}
			storedA, err := storeB.Run(ctx, "contoso", runA.ID)
			require.NoError(t, err)
			// B, once it holds the organization, marks a run it finds
			// running interrupted: read, then write, so it may overwrite
			// A's failed record if A finished in between. Either says
			// the run did not complete.
			require.Contains(t, []adsync.RunStatus{adsync.StatusFailed, adsync.StatusInterrupted}, storedA.Status, "A's run as kept in the history")

			require.NoError(t, errB, "replica B's run")
			require.Greater(t, triesB, 1, "B found the organization locked while A ran, and waited")
			require.Equal(t, adsync.StatusSucceeded, runB.Status)
			require.Equal(t, users-int(createsByA), runB.Counts.Created, "B creates what A did not")

			all := contactStore.All(100)
			require.Len(t, all, users, "one contact per user: no duplicate")
			emails := map[string]bool{}
			for _, c := range all {
				require.False(t, emails[c.Values[adsync.Email]], "duplicate contact for %s", c.Values[adsync.Email])
				emails[c.Values[adsync.Email]] = true
			}
			links, err := storeB.Links(ctx, "contoso")
			require.NoError(t, err)
			require.Len(t, links, users)
			linked := map[int64]bool{}
			for _, l := range links {
				require.False(t, l.Pending, "user %s: journal entry left", l.UserID)
				require.False(t, linked[l.ContactID], "contact %d linked twice", l.ContactID)
				linked[l.ContactID] = true
			}
		})
	}
}

// createCounter counts the creates one Syncer makes.
type createCounter struct {
	*contacts.Memory
	n atomic.Int64
}

func (c *createCounter) Create(ctx context.Context, nc adsync.NewContact) (int64, error) {
	id, err := c.Memory.Create(ctx, nc)
	if err == nil {
		c.n.Add(1)
	}
	return id, err
}
