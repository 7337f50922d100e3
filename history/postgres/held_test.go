package postgres

import (
	"context"
	"math"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/postgres/pgtest"
)

// Held finds the advisory lock of its own key in pg_locks, which shows a
// bigint key as two unsigned 32-bit halves (classid, objid): keys with the
// high bit of either half set must be found too, and a lock of the
// two-integer form with the same bits (objsubid 2) is another lock.
func TestHeldFindsEveryKey(t *testing.T) {
	s, err := Open(t.Context(), pgtest.DSN(t), nil)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	for _, tc := range []struct {
		name string
		key  int64
	}{
		{"small positive", 42},
		{"high bit of objid set", 0x0000_0001_8000_0000},
		{"high bit of classid set", -0x7edc_ba98_7654_3211},
		{"both high bits set", -1},
		{"the least key", math.MinInt64},
		{"the greatest key", math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			conn, err := pgx.ConnectConfig(ctx, s.lockCC)
			require.NoError(t, err)
			defer conn.Close(context.Background())
			l := &pgLock{s: s, conn: conn, key: tc.key, orgID: "org"}

			// The same bits locked as two integers are not the lock.
			hi, lo := int32(uint64(tc.key)>>32), int32(uint32(tc.key))
			_, err = conn.Exec(ctx, "SELECT pg_advisory_lock($1::int4, $2::int4)", hi, lo)
			require.NoError(t, err)
			require.ErrorIs(t, l.Held(ctx), adsync.ErrLockLost, "key %d: only the two-integer lock with the same bits is held", tc.key)

			_, err = conn.Exec(ctx, "SELECT pg_advisory_lock($1::bigint)", tc.key)
			require.NoError(t, err)
			require.NoError(t, l.Held(ctx), "key %d (classid %d, objid %d) is held", tc.key, uint32(hi), uint32(lo))

			_, err = conn.Exec(ctx, "SELECT pg_advisory_unlock($1::bigint)", tc.key)
			require.NoError(t, err)
			require.ErrorIs(t, l.Held(ctx), adsync.ErrLockLost, "key %d after unlock", tc.key)
		})
	}
}
