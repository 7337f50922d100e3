package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// Errors of the server or the connection wrap adsync.ErrUnavailable, so the
// Syncer stops the run (R-RUN-6); errors of a statement do not.
func TestUnavailable(t *testing.T) {
	s := &Store{}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"connect error", fmt.Errorf("acquire: %w", &pgconn.ConnectError{}), true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"canceled", context.Canceled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.wrap("put links", tc.err)
			require.Equal(t, tc.want, errors.Is(err, adsync.ErrUnavailable), "%v", err)
			require.ErrorIs(t, err, tc.err, "the cause stays reachable")
		})
	}
}
