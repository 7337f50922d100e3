package record

import (
	"fmt"
	"time"
)

// CheckNotice refuses a notice claim without a key or a state.
func CheckNotice(orgID, key, state string) error {
	if key == "" || state == "" {
		return fmt.Errorf("history: claim notice %q of organization %q: empty key or state (%q): %w", key, orgID, state, ErrInvalid)
	}
	return nil
}

// ShouldSend decides a notice claim (adsync.NoticeStore.ClaimNotice) from
// the recorded state and time of the last send; prev "" means no record.
func ShouldSend(prev string, sentAt time.Time, state string, now time.Time, remindAfter time.Duration) bool {
	if prev != state {
		return true
	}
	return remindAfter > 0 && !now.Before(sentAt.Add(remindAfter))
}
