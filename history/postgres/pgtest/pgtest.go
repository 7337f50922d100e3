// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema on the server of ADSYNC_PG_DSN (started by ./scripts/test.sh,
// see scripts/services/postgres.sh), dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BaseDSN returns ADSYNC_PG_DSN. Without it the test is skipped, with a
// message saying how to run it, or fails when ADSYNC_REQUIRE_SERVICES=1
// (CI).
func BaseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("ADSYNC_PG_DSN")
	if dsn == "" {
		if os.Getenv("ADSYNC_REQUIRE_SERVICES") == "1" {
			t.Fatal("ADSYNC_PG_DSN is not set but ADSYNC_REQUIRE_SERVICES=1: scripts/services/postgres.sh did not start PostgreSQL")
		}
		t.Skip("ADSYNC_PG_DSN is not set: run ./scripts/test.sh, which starts a PostgreSQL server (scripts/services/postgres.sh)")
	}
	return dsn
}

// WithSearchPath returns dsn, a postgres:// URL, with its search_path set
// to schema.
func WithSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		t.Fatalf("ADSYNC_PG_DSN must be a postgres:// URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// DSN makes an empty schema for the test, dropped after it, and returns a
// DSN whose search_path is that schema: tests and packages running at once
// never see each other's tables or locks.
func DSN(t testing.TB) string {
	t.Helper()
	base := BaseDSN(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "adsync_test_" + hex.EncodeToString(b)
	exec := func(sql string) error {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("pgtest: create a schema on the server of ADSYNC_PG_DSN: %v", err)
	}
	t.Cleanup(func() { _ = exec("DROP SCHEMA " + schema + " CASCADE") })
	return WithSearchPath(t, base, schema)
}
