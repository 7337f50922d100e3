package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/history/postgres"
	"github.com/psasync/adsync/history/postgres/pgtest"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
)

// gatedStore holds a run in its Check until the gate opens, so that a
// second replica can try the same organization meanwhile.
type gatedStore struct {
	*autotask.Client
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) Check(ctx context.Context, companyID int64) error {
	if g.gate != nil {
		g.entered <- struct{}{}
		<-g.gate
	}
	return g.Client.Check(ctx, companyID)
}

// TestReplicasOnPostgreSQL is the end to end of docs/design.md with a shared
// history: Graph emulator → graph.Source → Syncer → Autotask emulator →
// PostgreSQL, with two replicas (two stores, two Syncers) on one database.
// They never run the organization at once (R-RUN-5), and what one wrote
// the other sees: its run writes nothing (R-RUN-8).
func TestReplicasOnPostgreSQL(t *testing.T) {
	ctx := context.Background()
	e := newE2E(t, 0)
	dsn := pgtest.DSN(t)
	cr := e.at.Credentials()
	replica := func(gated bool) (*adsync.Syncer, *gatedStore) {
		client, err := autotask.New(autotask.Config{IntegrationCode: cr.IntegrationCode, Username: cr.Username, Secret: adsync.NewSecret(cr.Secret),
			ZoneLookupURL: e.at.ZoneLookupURL(), HTTPClient: e.at.Client()})
		require.NoError(t, err)
		store := &gatedStore{Client: client}
		if gated {
			store.entered, store.gate = make(chan struct{}), make(chan struct{})
		}
		hist, err := postgres.Open(ctx, dsn, nil)
		require.NoError(t, err)
		t.Cleanup(hist.Close)
		s, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil), Fields: merge.New})
		require.NoError(t, err)
		return s, store
	}
	a, gate := replica(true)
	b, _ := replica(false)

	done := make(chan adsync.Run, 1)
	go func() {
		run, err := a.Sync(ctx, e.org, adsync.TriggerScheduled)
		assert.NoError(t, err)
		done <- run
	}()
	<-gate.entered // replica A holds the organization
	_, err := b.Sync(ctx, e.org, adsync.TriggerForced)
	require.ErrorIs(t, err, adsync.ErrRunInProgress, "R-RUN-5 replica B must not run the organization while A does")
	close(gate.gate)
	var first adsync.Run
	select {
	case first = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("replica A did not finish")
	}
	require.Equal(t, adsync.StatusSucceeded, first.Status, first.Error)
	assert.Equal(t, 1199, first.Counts.Created, "1,200 members, one disabled (R-SCOPE-8)")

	second, err := b.Sync(ctx, e.org, adsync.TriggerForced)
	require.NoError(t, err)
	assert.Zero(t, second.Counts.Writes(), "R-RUN-8 replica B sees A's links in the shared history")
	assert.Equal(t, 1199, second.Counts.Unchanged)
	runs, err := b.History().Runs(ctx, e.org.Config.ID, 0)
	require.NoError(t, err)
	assert.Len(t, runs, 2, "both replicas' runs are in the shared history")
}
