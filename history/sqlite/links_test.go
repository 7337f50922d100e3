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

// A create journal (pending links) followed by the links of its users, as
// the Syncer saves a batch, leaves one log row per user: the journal rows
// that the links supersede are dropped, and Links, and the fold, see
// exactly what the whole log would give. Hints gone stale (rows of
// another user or organization at the noted seq) drop nothing.
func TestJournalRowsDroppedWhenLinked(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "history.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.foldAt = 1 << 30

	links := historytest.ManyLinks("org", 40)
	journal := make([]adsync.Link, 30)
	for i := range journal {
		journal[i] = adsync.Link{OrgID: "org", UserID: links[i].UserID, Pending: true, Created: true, Active: true, After: 7}
	}
	other := historytest.ManyLinks("other", 40) // the same user ids, another organization
	for i := range other {
		other[i].Pending = true
	}
	require.NoError(t, s.PutLinks(ctx, "other", other[:30]))
	require.NoError(t, s.PutLinks(ctx, "org", journal))
	require.Equal(t, 30, logRows(t, s, "org"))

	// 25 of the journal's users linked, one of them twice, and 10 others.
	put := append(slices.Clone(links[5:40]), links[5])
	put[0].ContactID = 1 // superseded by the last links[5]
	require.NoError(t, s.PutLinks(ctx, "org", put))
	require.Equal(t, 5+36, logRows(t, s, "org"), "the 25 linked users' journal rows are dropped")
	require.Equal(t, 30, logRows(t, s, "other"), "another organization's rows are left alone")
	want := append(slices.Clone(journal[:5]), links[5:40]...)
	requireSameLinks(t, want, sorted(t, s, "org"))

	// A stale hint: the noted seqs hold the same user of another
	// organization, another user, and (after the call's last) the call's
	// own row.
	require.NoError(t, s.PutLinks(ctx, "org", journal[:2]))
	var last, of38 int64
	require.NoError(t, s.r.QueryRow(`SELECT max(seq) FROM link_log`).Scan(&last))
	require.NoError(t, s.r.QueryRow(`SELECT seq FROM link_log WHERE org_id='org' AND user_id=?`, links[38].UserID).Scan(&of38))
	s.mu.Lock()
	s.journaled["org"] = map[string]int64{links[0].UserID: 1, links[1].UserID: of38, links[39].UserID: last + 3}
	s.mu.Unlock()
	before := logRows(t, s, "org") + logRows(t, s, "other")
	require.NoError(t, s.PutLinks(ctx, "org", append(slices.Clone(links[:2]), links[39])))
	require.Equal(t, before+3, logRows(t, s, "org")+logRows(t, s, "other"), "nothing dropped")
	want = append(slices.Clone(links[:2]), journal[2:5]...)
	want = append(want, links[5:40]...)
	requireSameLinks(t, want, sorted(t, s, "org"))
	requireSameLinks(t, other[:30], sorted(t, s, "other"))

	// The fold gives the same links, in both organizations.
	require.NoError(t, s.inTx(ctx, "test fold", func(tx *sql.Tx) error { return s.fold(ctx, tx, "test", "org") }))
	require.Zero(t, logRows(t, s, "org"))
	requireSameLinks(t, want, sorted(t, s, "org"))
	requireSameLinks(t, other[:30], sorted(t, s, "other"))
}

// requireSameLinks compares links by user id, times in UTC.
func requireSameLinks(t *testing.T, want, got []adsync.Link) {
	t.Helper()
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b adsync.Link) int { return strings.Compare(a.UserID, b.UserID) })
	require.Len(t, got, len(want))
	for i := range want {
		w, g := want[i], got[i]
		w.LinkedAt, w.SyncedAt, w.MissingSince = w.LinkedAt.UTC(), w.SyncedAt.UTC(), w.MissingSince.UTC()
		if len(w.Written) == 0 {
			w.Written = nil
		}
		require.Equal(t, w, g, "user %s", w.UserID)
	}
}
