package sqlite

import (
	"database/sql"
	"maps"
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
	cacheSize := func() (n int) {
		require.NoError(t, s.w.QueryRow(`PRAGMA cache_size`).Scan(&n))
		return n
	}
	cache := cacheSize()

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

	// FinishRun folds its organization's log, and leaves the page cache
	// as it was.
	r, err := s.StartRun(ctx, adsync.Run{OrgID: "other", Status: adsync.StatusRunning})
	require.NoError(t, err)
	r.Status = adsync.StatusSucceeded
	require.NoError(t, s.FinishRun(ctx, r))
	require.Equal(t, cache, cacheSize())
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
// the Syncer saves a batch, leaves one log row per user: the journal's rows
// that the links supersede are dropped, also when a user is given twice or
// a deletion came in between. Links, and the fold, see exactly what the
// whole log would give, and notes gone stale (the noted rows hold another
// user, another organization's user, or the call's own row) change no
// link.
func TestJournalRowsDroppedWhenLinked(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "history.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.foldAt = 1 << 30

	links := historytest.ManyLinks("org", 40)
	pending := func(ls []adsync.Link) []adsync.Link {
		out := make([]adsync.Link, len(ls))
		for i, l := range ls {
			out[i] = adsync.Link{OrgID: l.OrgID, UserID: l.UserID, Pending: true, Created: true, Active: true, After: 7}
		}
		return out
	}
	other := pending(historytest.ManyLinks("other", 30)) // the same user ids, another organization
	want := map[string]adsync.Link{}                     // org's links: the last put wins
	put := func(ls []adsync.Link) {
		t.Helper()
		require.NoError(t, s.PutLinks(ctx, "org", ls))
		for _, l := range ls {
			want[l.UserID] = l
		}
		requireSameLinks(t, slices.Collect(maps.Values(want)), sorted(t, s, "org"))
		requireSameLinks(t, other, sorted(t, s, "other"))
	}
	note := func(from int64, users ...string) {
		rows := map[string]int64{}
		for i, u := range users {
			rows[u] = from + int64(i)
		}
		s.mu.Lock()
		s.journaled["org"] = rows
		s.mu.Unlock()
	}
	lastSeq := func() (seq int64) {
		require.NoError(t, s.r.QueryRow(`SELECT max(seq) FROM link_log`).Scan(&seq))
		return seq
	}
	require.NoError(t, s.PutLinks(ctx, "other", other))

	// 25 of the journal's users linked, and 10 others.
	put(pending(links[:30]))
	put(links[5:40])
	require.Equal(t, 30+10, logRows(t, s, "org"), "the 25 links dropped their journal rows")

	// A user given twice.
	put(pending(links[:3]))
	twice := links[1]
	twice.ContactID = 1
	put([]adsync.Link{links[0], links[1], twice})
	require.Equal(t, 40+3-2+3, logRows(t, s, "org"))

	// A deletion between the journal and the links.
	put(pending(links[6:9]))
	require.NoError(t, s.DeleteLinks(ctx, "org", []string{links[6].UserID}))
	n := logRows(t, s, "org")
	put(links[6:9])
	require.Equal(t, n+3-3, logRows(t, s, "org"))

	// A note whose second row holds another user: only the rows that
	// hold their noted user are dropped.
	from := lastSeq() + 1
	put(pending(links[3:6]))
	note(from, links[3].UserID, links[38].UserID, links[5].UserID)
	n = logRows(t, s, "org")
	put([]adsync.Link{links[3], links[38], links[5]})
	require.Equal(t, n+3-2, logRows(t, s, "org"))

	// Noted rows of another organization, and the call's own row.
	note(1, other[0].UserID)
	n = logRows(t, s, "org")
	put(links[:1])
	require.Equal(t, n+1, logRows(t, s, "org"))
	note(lastSeq()+1, links[39].UserID)
	put(links[39:])
	require.Equal(t, n+2, logRows(t, s, "org"))

	// The fold gives the same links, in both organizations.
	put(pending(links[10:12]))
	require.NoError(t, s.inTx(ctx, "test fold", func(tx *sql.Tx) error { return s.fold(ctx, tx, "test", "org") }))
	require.Zero(t, logRows(t, s, "org"))
	require.NotContains(t, s.journaled, "org", "the note goes with the rows")
	requireSameLinks(t, slices.Collect(maps.Values(want)), sorted(t, s, "org"))
	requireSameLinks(t, other, sorted(t, s, "other"))
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
