package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/psasync/adsync/history/internal/record"
)

// ClaimNotice records the notice's state and says whether to send it. One
// INSERT … ON CONFLICT decides: PostgreSQL locks the row and evaluates the
// WHERE on its latest version, so of replicas claiming at once exactly one
// changes the row and is told to send.
func (s *Store) ClaimNotice(ctx context.Context, orgID, key, state string, now time.Time, remindAfter time.Duration) (string, bool, error) {
	if err := record.CheckNotice(orgID, key, state); err != nil {
		return "", false, err
	}
	// In SET, the right-hand sides see the row before the update:
	// prev_state takes the replaced state.
	var prev string
	err := s.pool.QueryRow(ctx, `INSERT INTO adsync_notices AS n (org_id, key, state, prev_state, sent_at) VALUES ($1, $2, $3, '', $4)
		ON CONFLICT (org_id, key) DO UPDATE SET prev_state = n.state, state = excluded.state, sent_at = excluded.sent_at
		WHERE n.state <> excluded.state OR ($5 AND n.sent_at <= $6)
		RETURNING prev_state`,
		orgID, key, state, now, remindAfter > 0, now.Add(-remindAfter)).Scan(&prev)
	if errors.Is(err, pgx.ErrNoRows) {
		return state, false, nil // the state recorded, no reminder due
	}
	if err != nil {
		return "", false, s.wrap(fmt.Sprintf("claim notice %q of organization %q", key, orgID), err)
	}
	return prev, true, nil
}
