package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/historytest"
	"github.com/psasync/adsync/history/sqlite"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	historytest.Run(t, func(t *testing.T) adsync.HistoryStore {
		return open(t, filepath.Join(t.TempDir(), "history.db"))
	})
}

func BenchmarkStore(b *testing.B) {
	historytest.RunBenchmarks(b, func(b *testing.B) adsync.HistoryStore {
		return open(b, filepath.Join(b.TempDir(), "history.db"))
	})
}

// What one process wrote, the next one reads (R-RUN-1, R-LINK-1).
func TestSurvivesReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := sqlite.Open(ctx, path, nil)
	require.NoError(t, err)
	r, err := s.StartRun(ctx, adsync.Run{OrgID: "org", Status: adsync.StatusRunning, Started: time.Now()})
	require.NoError(t, err)
	links := historytest.ManyLinks("org", 1200)
	require.NoError(t, s.PutLinks(ctx, "org", links))
	require.NoError(t, s.PutResolution(ctx, adsync.Resolution{OrgID: "org", UserID: "u", Action: adsync.ResolveIgnore}))
	require.NoError(t, s.Close())

	s = open(t, path)
	n, err := s.InterruptRuns(ctx, time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, n, "R-RUN-7 the run left running by the closed store is interrupted")
	got, err := s.Run(ctx, "org", r.ID)
	require.NoError(t, err)
	require.Equal(t, adsync.StatusInterrupted, got.Status)
	gotLinks, err := s.Links(ctx, "org")
	require.NoError(t, err)
	require.Len(t, gotLinks, len(links))
	res, err := s.Resolutions(ctx, "org")
	require.NoError(t, err)
	require.Len(t, res, 1)
	r2, err := s.StartRun(ctx, adsync.Run{OrgID: "org", Status: adsync.StatusRunning})
	require.NoError(t, err)
	require.Greater(t, r2.ID, r.ID, "ids keep growing across a reopen")
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

// otherSQLite makes a SQLite file of another application.
func otherSQLite(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	return path
}

// newerSchema makes an adsync history file whose schema version is newer
// than this package's.
func newerSchema(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "newer.db")
	s, err := sqlite.Open(t.Context(), path, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`PRAGMA user_version = 99`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	return path
}

// Bad input gets a clear error at Open that names the file and what to do,
// and the file is left exactly as it was (docs/design.md, "Invariants").
func TestOpenRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  func(t *testing.T) string
		wants []string
	}{
		{"a text file", func(t *testing.T) string {
			return writeFile(t, "notes.txt", []byte("remember the milk\n"))
		}, []string{"not an adsync history database", "not a SQLite file"}},
		{"a short binary file", func(t *testing.T) string {
			return writeFile(t, "tiny.bin", []byte{0x53, 0x51})
		}, []string{"not an adsync history database"}},
		{"a SQLite file of another application", otherSQLite,
			[]string{"not an adsync history database", "another application"}},
		{"a newer schema", newerSchema,
			[]string{"schema version 99", "newer than this adsync knows (" + strconv.Itoa(sqlite.SchemaVersion) + ")", "upgrade adsync"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.file(t)
			before, err := os.ReadFile(path)
			require.NoError(t, err)
			s, err := sqlite.Open(t.Context(), path, nil)
			if err == nil {
				s.Close()
			}
			require.ErrorIs(t, err, adsync.ErrInvalidConfig)
			require.Contains(t, err.Error(), path, "the error names the file")
			for _, w := range tc.wants {
				require.Contains(t, err.Error(), w)
			}
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, before, after, "the file must be left untouched")
			_, err = os.Stat(path + "-wal")
			require.ErrorIs(t, err, os.ErrNotExist, "no WAL file is created beside a refused file")
		})
	}
}

func TestOpenBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		opts       *sqlite.Options
		field      string
	}{
		{"empty path", "", nil, "path"},
		{"in-memory database", ":memory:", nil, "path"},
		{"negative busy timeout", filepath.Join(t.TempDir(), "h.db"), &sqlite.Options{BusyTimeout: -time.Second}, "BusyTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqlite.Open(t.Context(), tc.path, tc.opts)
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.field, ce.Field)
		})
	}
	_, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "no", "such", "dir", "h.db"), nil)
	require.Error(t, err, "a directory that does not exist")
	require.Contains(t, err.Error(), "no/such/dir/h.db")
	dir := t.TempDir()
	_, err = sqlite.Open(t.Context(), dir, nil)
	require.ErrorIs(t, err, adsync.ErrInvalidConfig)
	require.Contains(t, err.Error(), dir+" is a directory")
}

// Two stores on one file, standing for two processes, write at once: the
// second writer waits for the first (busy timeout) instead of failing, and
// nothing is lost.
func TestTwoStoresWriteAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	stores := []*sqlite.Store{open(t, path), open(t, path)}
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i, s := range stores {
		wg.Go(func() {
			org := fmt.Sprintf("org-%d", i)
			for round := range 20 {
				r, err := s.StartRun(t.Context(), adsync.Run{OrgID: org, Status: adsync.StatusRunning})
				if err == nil {
					err = s.PutLinks(t.Context(), org, historytest.ManyLinks(org, 100*(round+1)))
				}
				if err == nil {
					r.Status = adsync.StatusSucceeded
					err = s.FinishRun(t.Context(), r)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	for i := range stores {
		org := fmt.Sprintf("org-%d", i)
		runs, err := stores[1-i].Runs(t.Context(), org, 0)
		require.NoError(t, err)
		require.Equal(t, adsync.KeepRuns, len(runs), "the other store sees the runs")
		links, err := stores[1-i].Links(t.Context(), org)
		require.NoError(t, err)
		require.Equal(t, 2000, len(links), "the other store sees the links of the last round")
	}
}

// Two stores on one file stand for two processes: the per-organization
// lock holds across them (R-RUN-5), and a run one holds is not marked
// interrupted by the other starting up (R-RUN-7).
func TestLockAcrossStores(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "history.db")
	a, b := open(t, path), open(t, path)

	lock, err := a.TryLock(ctx, "org-1")
	require.NoError(t, err)
	_, err = b.TryLock(ctx, "org-1")
	require.ErrorIs(t, err, adsync.ErrRunInProgress, "R-RUN-5 the other process holds org-1")
	lock2, err := b.TryLock(ctx, "org-2")
	require.NoError(t, err, "R-RUN-5 another organization is free")
	lock2.Unlock()

	live, err := a.StartRun(ctx, adsync.Run{OrgID: "org-1", Status: adsync.StatusRunning})
	require.NoError(t, err)
	dead, err := a.StartRun(ctx, adsync.Run{OrgID: "org-2", Status: adsync.StatusRunning})
	require.NoError(t, err)
	n, err := b.InterruptRuns(ctx, time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, n, "R-RUN-7 only the run of the locked organization is interrupted")
	got, err := b.Run(ctx, "org-1", live.ID)
	require.NoError(t, err)
	require.Equal(t, adsync.StatusRunning, got.Status, "the run of the locked organization is alive")
	got, err = b.Run(ctx, "org-2", dead.ID)
	require.NoError(t, err)
	require.Equal(t, adsync.StatusInterrupted, got.Status)

	require.NoError(t, a.Close(), "closing releases a's locks")
	lock3, err := b.TryLock(ctx, "org-1")
	require.NoError(t, err, "after the holder closed, the lock is free")
	lock3.Unlock()
	lock.Unlock() // after Close: harmless
}

// A process that dies holding a lock does not leave the organization
// locked: the kernel drops its flock (R-RUN-5).
func TestLockOfDeadProcess(t *testing.T) {
	path := os.Getenv("ADSYNC_SQLITE_TEST_PATH") // set in the child process
	if path == "" {
		path = filepath.Join(t.TempDir(), "history.db")
		t.Setenv("ADSYNC_SQLITE_TEST_PATH", path)
	}
	historytest.TestDeadHolder(t, open(t, path), path, func(path string) (adsync.Locker, error) {
		return sqlite.Open(context.Background(), path, nil)
	})
}

// A write that waits past the busy timeout for another process's write
// fails with ErrUnavailable, naming the file.
func TestBusyIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := sqlite.Open(t.Context(), path, &sqlite.Options{BusyTimeout: time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	other, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer other.Close()
	conn, err := other.Conn(t.Context())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(t.Context(), "BEGIN IMMEDIATE")
	require.NoError(t, err)
	defer conn.ExecContext(context.Background(), "ROLLBACK")

	_, err = s.StartRun(t.Context(), adsync.Run{OrgID: "org", Status: adsync.StatusRunning})
	require.ErrorIs(t, err, adsync.ErrUnavailable)
	require.Contains(t, err.Error(), path)
}

func TestHostileText(t *testing.T) {
	historytest.TestHostileText(t, open(t, filepath.Join(t.TempDir(), "h.db")))
}

func BenchmarkChangeLog(b *testing.B) {
	historytest.RunChangeLogBenchmarks(b, func(b *testing.B) adsync.HistoryStore {
		return open(b, filepath.Join(b.TempDir(), "history.db"))
	})
}

func BenchmarkChangeRead(b *testing.B) {
	historytest.RunChangeReadBenchmarks(b, func(b *testing.B) adsync.HistoryStore {
		return open(b, filepath.Join(b.TempDir(), "history.db"))
	})
}

// BenchmarkChangeLogSize reports the bytes on disk per change record of a
// 400,000-create first run: the file (tables and indexes, after a
// checkpoint) with the log, less the file without it.
func BenchmarkChangeLogSize(b *testing.B) {
	size := func(path string) int64 {
		db, err := sql.Open("sqlite", "file:"+path)
		require.NoError(b, err)
		defer db.Close()
		_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		require.NoError(b, err)
		var pages, pageSize int64
		require.NoError(b, db.QueryRow(`PRAGMA page_count`).Scan(&pages))
		require.NoError(b, db.QueryRow(`PRAGMA page_size`).Scan(&pageSize))
		return pages * pageSize
	}
	recs := historytest.ManyCreates(historytest.BenchLinks)
	links := historytest.ManyLinks("bench", historytest.BenchLinks)
	for b.Loop() {
		var bytes [2]int64
		for i, withLog := range []bool{false, true} {
			path := filepath.Join(b.TempDir(), "history.db")
			historytest.SaveRun(b, open(b, path), "bench", recs, links, true, withLog)
			bytes[i] = size(path)
		}
		b.ReportMetric(float64(bytes[1])/1e6, "MB-with-log")
		b.ReportMetric(float64(bytes[1]-bytes[0])/1e6, "MB-of-log")
		b.ReportMetric(float64(bytes[1]-bytes[0])/historytest.BenchLinks, "B/entry")
	}
}
