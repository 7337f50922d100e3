package notify_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/postgres"
	"github.com/psasync/adsync/history/postgres/pgtest"
	"github.com/psasync/adsync/notify"
)

// Two replicas share a PostgreSQL history; both observe the same states at
// once (the budget is every organization's; a run's end could be seen
// twice after a retry): each alert goes out once between them.
func TestTwoReplicasSendOneAlert(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := &sink{name: "shared receiver"}
	var replicas []*notify.Notifier
	for range 2 {
		st, err := postgres.Open(t.Context(), dsn, nil)
		require.NoError(t, err)
		t.Cleanup(st.Close)
		replicas = append(replicas, newNotifier(t, notify.Config{Store: st, Now: func() time.Time { return t0 },
			Routes: []notify.Route{{Channel: s}}}))
	}
	paced := end("contoso", 1, adsync.StatusFailed)
	paced.Budget = &adsync.APIBudget{Used: 800, Limit: 1000, PaceAt: 0.5}
	var wg sync.WaitGroup
	for _, n := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				n.RunFinished(paced)
			}
		}()
	}
	wg.Wait()
	for _, n := range replicas {
		require.NoError(t, n.Close(context.Background()))
	}
	assert.ElementsMatch(t, []string{"contoso:failed", "budget"}, s.events())
}
