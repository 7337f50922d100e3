package historytest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/conform"
)

var noticeTests = []test{
	{"ClaimNotice sends once per change of state",
		"NoticeStore.ClaimNotice: the first claim of (organization, key) sends and returns prev \"\"; a claim of the state recorded does not send and changes nothing; a claim of another state sends and returns the state it replaces",
		testNoticeStates},
	{"ClaimNotice reminds after remindAfter",
		"NoticeStore.ClaimNotice: a claim of the recorded state sends again once now is at least remindAfter after the last send (to the millisecond, whatever the zones of the times); the next reminder counts from that send; remindAfter <= 0 never reminds",
		testNoticeRemind},
	{"ClaimNotice keys by organization and key",
		"NoticeStore.ClaimNotice: notices are keyed by (organization, key): the same key in two organizations, or two keys in one, are separate; orgID \"\" is a notice of no one organization",
		testNoticeKeys},
	{"ClaimNotice is a compare-and-set", ruleNoticeRace,
		func(t *testing.T, s adsync.HistoryStore) { NoticeRace(t, s, s) }},
	{"ClaimNotice refuses an empty key or state and a cancelled context",
		"NoticeStore.ClaimNotice: a claim with an empty key or state returns an error and records nothing; so does one with a cancelled context (adsync.HistoryStore)",
		testNoticeBad},
}

func claim(t *testing.T, s adsync.NoticeStore, org, key, state string, now time.Time, remind time.Duration) (string, bool) {
	t.Helper()
	prev, send, err := s.ClaimNotice(t.Context(), org, key, state, now, remind)
	require.NoError(t, err, "ClaimNotice(%q, %q, %q)", org, key, state)
	return prev, send
}

func testNoticeStates(t *testing.T, s adsync.HistoryStore) {
	steps := []struct {
		state    string
		wantPrev string
		wantSend bool
	}{
		{"failed", "", true},
		{"failed", "failed", false},
		{"failed", "failed", false},
		{"succeeded", "failed", true},
		{"succeeded", "succeeded", false},
		{"held", "succeeded", true},
		{"failed", "held", true},
	}
	for i, st := range steps {
		prev, send := claim(t, s, "org-a", "run", st.state, at(time.Duration(i)*time.Minute), 24*time.Hour)
		require.Equal(t, st.wantPrev, prev, "step %d (%s): prev", i, st.state)
		require.Equal(t, st.wantSend, send, "step %d (%s): send", i, st.state)
	}
}

func testNoticeRemind(t *testing.T, s adsync.HistoryStore) {
	const day = 24 * time.Hour
	_, send := claim(t, s, "org-a", "run", "failed", at(0), day)
	require.True(t, send)
	_, send = claim(t, s, "org-a", "run", "failed", at(day-time.Millisecond).UTC(), day)
	require.False(t, send, "a millisecond before the reminder is due")
	_, send = claim(t, s, "org-a", "run", "failed", at(day).UTC(), day)
	require.True(t, send, "the reminder is due remindAfter after the first send (times in another zone)")
	_, send = claim(t, s, "org-a", "run", "failed", at(day+time.Hour), day)
	require.False(t, send, "the next reminder counts from the reminder")
	_, send = claim(t, s, "org-a", "run", "failed", at(2*day), day)
	require.True(t, send)

	_, send = claim(t, s, "org-b", "run", "failed", at(0), 0)
	require.True(t, send)
	_, send = claim(t, s, "org-b", "run", "failed", at(100*day), 0)
	require.False(t, send, "remindAfter 0 never reminds")
}

func testNoticeKeys(t *testing.T, s adsync.HistoryStore) {
	for _, k := range [][2]string{{"org-a", "run"}, {"org-b", "run"}, {"org-a", "tls"}, {"", "autotask-budget"}} {
		_, send := claim(t, s, k[0], k[1], "on", at(0), 0)
		require.True(t, send, "first claim of %v", k)
	}
	for _, k := range [][2]string{{"org-a", "run"}, {"org-b", "run"}, {"org-a", "tls"}, {"", "autotask-budget"}} {
		prev, send := claim(t, s, k[0], k[1], "on", at(time.Minute), 0)
		require.False(t, send, "second claim of %v", k)
		require.Equal(t, "on", prev)
	}
}

const ruleNoticeRace = "NoticeStore.ClaimNotice: of concurrent claims that would each send, exactly one is told to send, so that replicas sharing a store send one alert"

// NoticeRace claims one notice from many goroutines at once, spread over
// the given stores (replicas of one database, or one store twice), and
// fails unless exactly one claim is told to send.
func NoticeRace(t *testing.T, stores ...adsync.NoticeStore) {
	t.Helper()
	for round, state := range []string{"failed", "succeeded", "failed"} {
		const n = 16
		var wg sync.WaitGroup
		sends := make(chan bool, n)
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func(s adsync.NoticeStore) {
				defer wg.Done()
				_, send, err := s.ClaimNotice(t.Context(), "org-a", "run", state, at(time.Duration(round)*time.Minute), 24*time.Hour)
				sends <- send
				errs <- err
			}(stores[i%len(stores)])
		}
		wg.Wait()
		close(sends)
		close(errs)
		for err := range errs {
			require.NoError(t, err, "round %d", round)
		}
		sent := 0
		for s := range sends {
			if s {
				sent++
			}
		}
		if sent != 1 {
			conform.Broken(t, ruleNoticeRace, "round %d (%s): %d of %d claims told to send", round, state, sent, n)
		}
	}
}

func testNoticeBad(t *testing.T, s adsync.HistoryStore) {
	for _, tc := range [][2]string{{"", "failed"}, {"run", ""}} {
		_, _, err := s.ClaimNotice(t.Context(), "org-a", tc[0], tc[1], at(0), 0)
		require.Error(t, err, "key %q state %q", tc[0], tc[1])
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := s.ClaimNotice(ctx, "org-a", "run", "failed", at(0), 0)
	require.ErrorIs(t, err, context.Canceled)
	_, send := claim(t, s, "org-a", "run", "failed", at(0), 0)
	require.True(t, send, "the refused and cancelled claims recorded nothing")
}
