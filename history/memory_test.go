package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/history/historytest"
)

func TestMemoryConformance(t *testing.T) {
	historytest.Run(t, func(*testing.T) adsync.HistoryStore { return history.NewMemory() })
}

func BenchmarkMemory(b *testing.B) {
	historytest.RunBenchmarks(b, func(*testing.B) adsync.HistoryStore { return history.NewMemory() })
}

// The store hands out copies: a caller changing what it got or what it gave
// does not change the store (HistoryStore contract).
func TestMemoryReturnsCopies(t *testing.T) {
	ctx := context.Background()
	m := history.NewMemory()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	given := []adsync.Link{{UserID: "u1", ContactID: 7, Written: map[adsync.Field]string{adsync.Email: "a@x.test"}, LinkedAt: now}}
	require.NoError(t, m.PutLinks(ctx, "org", given))
	given[0].Written[adsync.Email] = "changed@x.test"
	got, err := m.Links(ctx, "org")
	require.NoError(t, err)
	require.Equal(t, "a@x.test", got[0].Written[adsync.Email], "a change to the map given to PutLinks reached the store")
	got[0].Written[adsync.Email] = "changed@x.test"
	again, err := m.Links(ctx, "org")
	require.NoError(t, err)
	require.Equal(t, "a@x.test", again[0].Written[adsync.Email], "a change to the map returned by Links reached the store")

	r, err := m.StartRun(ctx, adsync.Run{OrgID: "org", Status: adsync.StatusRunning, Started: now,
		Warnings: []adsync.Warning{{Rule: "R-FIELD-4", Message: "cut"}}})
	require.NoError(t, err)
	r.Warnings[0].Message = "changed"
	kept, err := m.Run(ctx, "org", r.ID)
	require.NoError(t, err)
	require.Equal(t, "cut", kept.Warnings[0].Message, "a change to the run returned by StartRun reached the store")

	cs := []adsync.Conflict{{UserID: "u2", Kind: adsync.ConflictMultipleContacts, Candidates: []int64{1, 2}}}
	require.NoError(t, m.ReplaceConflicts(ctx, "org", cs))
	cs[0].Candidates[0] = 99
	gotCs, err := m.Conflicts(ctx, "org")
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2}, gotCs[0].Candidates, "a change to the list given to ReplaceConflicts reached the store")
}
