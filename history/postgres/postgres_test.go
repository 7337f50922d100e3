package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/historytest"
	"github.com/psasync/adsync/history/postgres"
	"github.com/psasync/adsync/history/postgres/pgtest"
	"github.com/psasync/adsync/internal/leaktest"
)

var (
	baseDSN        = pgtest.BaseDSN
	withSearchPath = pgtest.WithSearchPath
	freshSchema    = pgtest.DSN
)

func pgPassword(t testing.TB, dsn string) string {
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	if pw, ok := u.User.Password(); ok && pw != "" {
		return pw
	}
	return "\x00no password in ADSYNC_PG_DSN"
}

func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, nil)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func TestConformance(t *testing.T) {
	historytest.Run(t, func(t *testing.T) adsync.HistoryStore { return open(t, freshSchema(t)) })
}

func BenchmarkStore(b *testing.B) {
	historytest.RunBenchmarks(b, func(b *testing.B) adsync.HistoryStore { return open(b, freshSchema(b)) })
}

const secret = "s3cr3t-Pa55w0rd"

// Bad DSNs get a clear error at Open, classified with errors.Is, that
// names the server and never the password (docs/design.md, "Invariants").
func TestOpenErrorsRedactPassword(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dsn   func(t *testing.T) string
		kind  error
		wants []string
	}{
		{"unreachable server", func(*testing.T) string {
			return "postgres://adsync:" + secret + "@127.0.0.1:1/adsync?sslmode=disable&connect_timeout=2"
		}, adsync.ErrUnavailable, []string{"adsync@127.0.0.1:1/adsync", "check the host and port"}},
		{"malformed DSN", func(*testing.T) string {
			return "postgres://adsync:" + secret + "@127.0.0.1:notaport/adsync"
		}, adsync.ErrInvalidConfig, []string{"dsn: "}},
		{"malformed key=value DSN", func(*testing.T) string {
			return "host=127.0.0.1 password=" + secret + " sslmode=bogus"
		}, adsync.ErrInvalidConfig, []string{"dsn: "}},
		{"wrong password", func(t *testing.T) string {
			u, _ := url.Parse(baseDSN(t))
			u.User = url.UserPassword(u.User.Username(), secret)
			return u.String()
		}, adsync.ErrUnauthorized, []string{"check the user and password"}},
		{"missing database", func(t *testing.T) string {
			u, _ := url.Parse(baseDSN(t))
			u.Path = "/no_such_database"
			return u.String()
		}, adsync.ErrInvalidConfig, []string{"/no_such_database", "create the database"}},
		{"search_path of a missing schema", func(t *testing.T) string {
			return withSearchPath(t, baseDSN(t), "no_such_schema")
		}, adsync.ErrInvalidConfig, []string{"search_path names no existing schema"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postgres.Open(t.Context(), tc.dsn(t), nil)
			if err == nil {
				s.Close()
			}
			require.ErrorIs(t, err, tc.kind)
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				require.NotContains(t, text, secret, "the password must never appear in an error")
			}
			for _, w := range tc.wants {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

// A role that may not create tables in the schema gets an error saying
// what to grant, and nothing is created.
func TestOpenWithoutCreatePrivilege(t *testing.T) {
	dsn := freshSchema(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	schema := u.Query().Get("search_path")
	role := "adsync_ro_" + schema[len("adsync_test_"):]
	admin, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer admin.Close(context.Background())
	_, err = admin.Exec(t.Context(), fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'; GRANT USAGE ON SCHEMA %s TO %s`, role, secret, schema, role))
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), fmt.Sprintf(`DROP OWNED BY %s; DROP ROLE %s`, role, role))
	})
	u.User = url.UserPassword(role, secret)

	_, err = postgres.Open(t.Context(), u.String(), nil)
	require.ErrorIs(t, err, adsync.ErrInvalidConfig)
	require.Contains(t, err.Error(), "may not create the history tables in schema \""+schema+"\"")
	require.Contains(t, err.Error(), "grant it CREATE on the schema")
	require.NotContains(t, err.Error(), secret)
	var tables int
	require.NoError(t, admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = $1`, schema).Scan(&tables))
	require.Zero(t, tables, "nothing is created")
}

// A database migrated by a newer adsync is refused and left untouched.
func TestOpenRefusesNewerSchema(t *testing.T) {
	dsn := freshSchema(t)
	s := open(t, dsn)
	require.NoError(t, s.PutLinks(t.Context(), "org", historytest.ManyLinks("org", 3)))
	s.Close()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), `UPDATE adsync_schema SET version = 99`)
	require.NoError(t, err)

	_, err = postgres.Open(t.Context(), dsn, nil)
	require.ErrorIs(t, err, adsync.ErrInvalidConfig)
	require.Contains(t, err.Error(), "schema version 99, newer than this adsync knows ("+strconv.Itoa(postgres.SchemaVersion)+")")
	require.Contains(t, err.Error(), "upgrade adsync")
	var version, links int
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT (SELECT version FROM adsync_schema), (SELECT count(*) FROM adsync_links)`).Scan(&version, &links))
	require.Equal(t, 99, version, "the schema version is untouched")
	require.Equal(t, 3, links, "the data is untouched")
}

// Replicas starting at once migrate once; the advisory lock makes the
// second wait and find the schema current.
func TestMigrateConcurrently(t *testing.T) {
	dsn := freshSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dsn, nil)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

// Two stores on one database stand for two replicas (R-RUN-5): a lock one
// holds blocks the other for that organization only, until Unlock or
// Close; and the other's InterruptRuns leaves the live run alone (R-RUN-7).
func TestReplicasShareTheLock(t *testing.T) {
	ctx := t.Context()
	dsn := freshSchema(t)
	a, b := open(t, dsn), open(t, dsn)

	for _, text := range []string{a.String(), fmt.Sprintf("%v", a), fmt.Sprintf("%+v", a)} {
		require.NotContains(t, text, pgPassword(t, dsn), "a store's text never holds the password")
		require.Contains(t, text, "postgres history")
	}

	lockA, err := a.TryLock(ctx, "org-1")
	require.NoError(t, err)
	_, err = b.TryLock(ctx, "org-1")
	require.ErrorIs(t, err, adsync.ErrRunInProgress, "replica b while a holds org-1")
	_, err = a.TryLock(ctx, "org-1")
	require.ErrorIs(t, err, adsync.ErrRunInProgress, "replica a itself, a second time")
	lockB2, err := b.TryLock(ctx, "org-2")
	require.NoError(t, err, "another organization is free")

	live, err := a.StartRun(ctx, adsync.Run{OrgID: "org-1", Status: adsync.StatusRunning})
	require.NoError(t, err)
	dead, err := a.StartRun(ctx, adsync.Run{OrgID: "org-3", Status: adsync.StatusRunning})
	require.NoError(t, err)
	n, err := b.InterruptRuns(ctx, time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the run of the locked organization is interrupted")
	got, err := b.Run(ctx, "org-1", live.ID)
	require.NoError(t, err)
	require.Equal(t, adsync.StatusRunning, got.Status, "the run replica a holds the lock for is alive")
	got, err = b.Run(ctx, "org-3", dead.ID)
	require.NoError(t, err)
	require.Equal(t, adsync.StatusInterrupted, got.Status)

	lockA.Unlock()
	lockA.Unlock() // a second call is harmless
	lockB1, err := b.TryLock(ctx, "org-1")
	require.NoError(t, err, "after a's lock, b gets org-1")
	_, err = a.TryLock(ctx, "org-1")
	require.ErrorIs(t, err, adsync.ErrRunInProgress)
	_ = lockB1
	_ = lockB2
	b.Close()
	lock, err := a.TryLock(ctx, "org-1")
	require.NoError(t, err, "after b closed, its locks are free")
	lock.Unlock()
}

// Two installations in two schemas of one database do not share locks.
func TestLocksPerSchema(t *testing.T) {
	a, b := open(t, freshSchema(t)), open(t, freshSchema(t))
	lockA, err := a.TryLock(t.Context(), "org-1")
	require.NoError(t, err)
	defer lockA.Unlock()
	lockB, err := b.TryLock(t.Context(), "org-1")
	require.NoError(t, err, "the same organization in another schema")
	lockB.Unlock()
}

// A replica that dies holding a lock does not leave the organization
// locked: its session ends and PostgreSQL frees the lock (R-RUN-5).
func TestLockOfDeadReplica(t *testing.T) {
	dsn := os.Getenv("ADSYNC_PG_TEST_SCHEMA_DSN") // set in the child process
	if dsn == "" {
		dsn = freshSchema(t)
		t.Setenv("ADSYNC_PG_TEST_SCHEMA_DSN", dsn)
	}
	historytest.TestDeadHolder(t, open(t, dsn), dsn, func(dsn string) (adsync.Locker, error) {
		return postgres.Open(context.Background(), dsn, nil)
	})
}

func TestHostileText(t *testing.T) {
	historytest.TestHostileText(t, open(t, freshSchema(t)))
}

// Two replicas on one database claim each notice at once: one alert per
// change of state between them.
func TestNoticeTwoReplicas(t *testing.T) {
	dsn := freshSchema(t)
	historytest.NoticeRace(t, open(t, dsn), open(t, dsn))
}

func BenchmarkChangeLog(b *testing.B) {
	historytest.RunChangeLogBenchmarks(b, func(b *testing.B) adsync.HistoryStore { return open(b, freshSchema(b)) })
}

func BenchmarkChangeRead(b *testing.B) {
	historytest.RunChangeReadBenchmarks(b, func(b *testing.B) adsync.HistoryStore { return open(b, freshSchema(b)) })
}

// BenchmarkChangeLogSize reports the bytes on disk per change record of a
// 400,000-create first run: adsync_change_batches with its index and TOAST.
func BenchmarkChangeLogSize(b *testing.B) {
	recs := historytest.ManyCreates(historytest.BenchLinks)
	links := historytest.ManyLinks("bench", historytest.BenchLinks)
	for b.Loop() {
		dsn := freshSchema(b)
		historytest.SaveRun(b, open(b, dsn), "bench", recs, links, true, true)
		conn, err := pgx.Connect(b.Context(), dsn)
		require.NoError(b, err)
		var bytes, linkBytes int64
		require.NoError(b, conn.QueryRow(b.Context(), `SELECT pg_total_relation_size('adsync_change_batches'), pg_total_relation_size('adsync_links')`).Scan(&bytes, &linkBytes))
		_ = conn.Close(b.Context())
		b.ReportMetric(float64(bytes)/1e6, "MB-of-log")
		b.ReportMetric(float64(linkBytes)/1e6, "MB-of-links")
		b.ReportMetric(float64(bytes)/historytest.BenchLinks, "B/entry")
	}
}

// The password given apart from the DSN signs in, and shows nowhere.
func TestPasswordOption(t *testing.T) {
	dsn := freshSchema(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	pw, _ := u.User.Password()
	u.User = url.User(u.User.Username()) // the DSN without its password
	opts := &postgres.Options{Password: adsync.NewSecret(pw)}
	s, err := postgres.Open(t.Context(), u.String(), opts)
	require.NoError(t, err, "the password of Options signs in")
	defer s.Close()
	_, err = s.Runs(t.Context(), "org", 0)
	require.NoError(t, err)
	assert.Empty(t, leaktest.Find(opts, pw), "Options print without the password")
	assert.Empty(t, leaktest.Find(s, pw), "the Store prints without the password")
}
