package sqlite

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/historytest"
)

// sorted returns an organization's links by user id, for comparison.
func sorted(t *testing.T, s *Store, org string) []adsync.Link {
	t.Helper()
	links, err := s.Links(t.Context(), org)
	require.NoError(t, err)
	slices.SortFunc(links, func(a, b adsync.Link) int { return strings.Compare(a.UserID, b.UserID) })
	return links
}

func logRows(t *testing.T, s *Store, org string) int {
	t.Helper()
	var n int
	require.NoError(t, s.r.QueryRowContext(t.Context(), `SELECT count(*) FROM link_log WHERE org_id=?`, org).Scan(&n))
	return n
}

// Folding the link log into links changes no organization's links: puts,
// replacements and deletions in any order, with links already folded and
// another organization's log beside it. FinishRun folds the run's
// organization; PutLinks and DeleteLinks fold a log grown past foldAt.
func TestFoldKeepsTheLinks(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "history.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.foldAt = 1 << 30 // folds only where the test says

	links := historytest.ManyLinks("org", 60)
	other := historytest.ManyLinks("other", 5)
	require.NoError(t, s.PutLinks(ctx, "other", other))
	steps := []func() error{
		func() error { return s.PutLinks(ctx, "org", links[:40]) },
		func() error {
			return s.DeleteLinks(ctx, "org", []string{links[0].UserID, links[1].UserID, "never-linked"})
		},
		func() error { // replaced, then deleted, then put again
			l := links[2]
			l.ContactID, l.Pending = 999, true
			return s.PutLinks(ctx, "org", []adsync.Link{l})
		},
		func() error { return s.DeleteLinks(ctx, "org", []string{links[2].UserID, links[3].UserID}) },
		func() error { return s.PutLinks(ctx, "org", append(slices.Clone(links[40:]), links[2])) },
	}
	for i, step := range steps {
		require.NoError(t, step(), "step %d", i)
		want := sorted(t, s, "org")
		// Fold now, in a transaction of its own, and compare.
		require.NoError(t, s.inTx(ctx, "test fold", func(tx *sql.Tx) error { return s.fold(ctx, tx, "test", "org") }))
		require.Zero(t, logRows(t, s, "org"), "step %d: the fold empties the organization's log", i)
		require.Equal(t, want, sorted(t, s, "org"), "step %d: the links after the fold", i)
	}
	require.Equal(t, 57, len(sorted(t, s, "org")), "60 put, 3 deleted for good (links[2] was put again)")
	require.Equal(t, 5, logRows(t, s, "other"), "another organization's log is left alone")
	require.Len(t, sorted(t, s, "other"), 5)

	// FinishRun folds its organization's log.
	r, err := s.StartRun(ctx, adsync.Run{OrgID: "other", Status: adsync.StatusRunning})
	require.NoError(t, err)
	r.Status = adsync.StatusSucceeded
	require.NoError(t, s.FinishRun(ctx, r))
	require.Zero(t, logRows(t, s, "other"))
	require.Len(t, sorted(t, s, "other"), 5)

	// A log past foldAt is folded by the call that makes it so.
	s.foldAt = 10
	for i := range 3 {
		batch := historytest.ManyLinks("big", 12)
		for j := range batch {
			batch[j].ContactID = int64(100*i + j)
		}
		require.NoError(t, s.PutLinks(ctx, "big", batch), "round %d", i)
		require.Zero(t, logRows(t, s, "big"), "round %d: 12 rows ≥ foldAt", i)
		got := sorted(t, s, "big")
		require.Len(t, got, 12)
		for _, l := range got {
			require.GreaterOrEqual(t, l.ContactID, int64(100*i), "round %d: the last put wins", i)
		}
	}
	require.NoError(t, s.DeleteLinks(ctx, "big", userIDs(historytest.ManyLinks("big", 12))))
	require.Empty(t, sorted(t, s, "big"))
	require.Zero(t, logRows(t, s, "big"), "a delete of 12 users folds too")
}

func userIDs(links []adsync.Link) []string {
	out := make([]string, len(links))
	for i, l := range links {
		out[i] = l.UserID
	}
	return out
}
