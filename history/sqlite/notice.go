package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/psasync/adsync/history/internal/record"
)

// ClaimNotice records the notice's state and says whether to send it. One
// upsert decides: it changes the row only when the state differs or the
// reminder is due, and SQLite runs one writer at a time, so the claim is
// atomic across the processes sharing the file.
func (s *Store) ClaimNotice(ctx context.Context, orgID, key, state string, now time.Time, remindAfter time.Duration) (string, bool, error) {
	if err := record.CheckNotice(orgID, key, state); err != nil {
		return "", false, err
	}
	// In SET, the right-hand sides see the row before the update:
	// prev_state takes the replaced state.
	var prev string
	err := s.w.QueryRowContext(ctx, `INSERT INTO notices (org_id, key, state, prev_state, sent_at) VALUES (?, ?, ?, '', ?)
		ON CONFLICT (org_id, key) DO UPDATE SET prev_state = notices.state, state = excluded.state, sent_at = excluded.sent_at
		WHERE notices.state <> excluded.state OR (? AND notices.sent_at <= ?)
		RETURNING prev_state`,
		orgID, key, state, now.UnixMicro(), remindAfter > 0, now.Add(-remindAfter).UnixMicro()).Scan(&prev)
	if errors.Is(err, sql.ErrNoRows) {
		return state, false, nil // the state recorded, no reminder due
	}
	if err != nil {
		return "", false, s.wrap(fmt.Sprintf("claim notice %q of organization %q", key, orgID), err)
	}
	return prev, true, nil
}
