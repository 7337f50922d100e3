package notify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/notify"
	"github.com/psasync/adsync/source/sourcetest"
)

var t0 = time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sink is a Channel that records what it gets.
type sink struct {
	name   string
	mu     sync.Mutex
	alerts []notify.Alert
}

func (s *sink) Name() string { return s.name }
func (s *sink) Send(_ context.Context, a notify.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, a)
	return nil
}

func (s *sink) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.alerts {
		e := string(a.Event)
		if a.OrgID != "" {
			e = a.OrgID + ":" + e
		}
		if a.Reminder {
			e += "(reminder)"
		}
		out = append(out, e)
	}
	return out
}

func newNotifier(t *testing.T, cfg notify.Config) *notify.Notifier {
	t.Helper()
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	n, err := notify.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	return n
}

// flush delivers what is queued.
func flush(t *testing.T, n *notify.Notifier) {
	t.Helper()
	require.NoError(t, n.Close(t.Context()))
}

func end(org string, id int64, status adsync.RunStatus) adsync.RunEnd {
	return adsync.RunEnd{Run: adsync.Run{ID: id, OrgID: org, Status: status, TLS: adsync.TLSNotApplicable}, OpenConflicts: -1}
}

func TestOneAlertPerChangeOfState(t *testing.T) {
	failed := func(org string, id int64) adsync.RunEnd {
		e := end(org, id, adsync.StatusFailed)
		e.Run.Error = "adsync: read the directory of \"" + org + "\": unavailable"
		return e
	}
	held := func(org string, id int64) adsync.RunEnd {
		e := end(org, id, adsync.StatusHeld)
		e.Run.Held = make([]adsync.HeldDeactivation, 12)
		return e
	}
	ok := func(org string, id int64) adsync.RunEnd { return end(org, id, adsync.StatusSucceeded) }
	tlsEnd := func(st adsync.TLSStatus, expiry time.Time) adsync.RunEnd {
		e := ok("a", 1)
		e.Run.TLS, e.CertExpiry = st, expiry
		return e
	}
	budget := func(used int) adsync.RunEnd {
		e := ok("a", 1)
		e.Budget = &adsync.APIBudget{Used: used, Limit: 1000, PaceAt: 0.5}
		return e
	}
	type step struct {
		after time.Duration // clock advance before the run
		end   adsync.RunEnd
	}
	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{"a first success is no news", []step{{0, ok("a", 1)}, {time.Hour, ok("a", 2)}}, nil},
		{"a run failing daily alerts once, then a reminder after 24 h, then the recovery",
			[]step{{0, failed("a", 1)}, {time.Hour, failed("a", 2)}, {23 * time.Hour, failed("a", 3)}, {time.Hour, failed("a", 4)}, {time.Hour, ok("a", 5)}, {time.Hour, ok("a", 6)}},
			[]string{"a:failed", "a:failed(reminder)", "a:recovered"}},
		{"R-DEACT-4 held, then approved", []step{{0, ok("a", 1)}, {time.Hour, held("a", 2)}, {time.Hour, ok("a", 3)}},
			[]string{"a:held", "a:recovered"}},
		{"a change from failed to held alerts", []step{{0, failed("a", 1)}, {time.Hour, held("a", 2)}},
			[]string{"a:failed", "a:held"}},
		{"interrupted", []step{{0, end("a", 1, adsync.StatusInterrupted)}, {time.Hour, ok("a", 2)}},
			[]string{"a:interrupted", "a:recovered"}},
		{"organizations have their own states", []step{{0, failed("a", 1)}, {0, failed("b", 2)}, {time.Hour, failed("a", 3)}},
			[]string{"a:failed", "b:failed"}},
		{"new conflicts alert each time there are new ones", []step{
			{0, func() adsync.RunEnd { e := ok("a", 1); e.NewConflicts, e.OpenConflicts = 2, 2; return e }()},
			{time.Hour, func() adsync.RunEnd { e := ok("a", 2); e.OpenConflicts = 2; return e }()},
			{time.Hour, func() adsync.RunEnd { e := ok("a", 3); e.NewConflicts, e.OpenConflicts = 1, 3; return e }()},
		}, []string{"a:conflicts", "a:conflicts"}},
		{"R-STATUS-2 a certificate expiring, then expired, then renewed", []step{
			{0, tlsEnd(adsync.TLSOK, t0.Add(90*24*time.Hour))},
			{time.Hour, tlsEnd(adsync.TLSExpiring, t0.Add(20*24*time.Hour))},
			{time.Hour, tlsEnd(adsync.TLSExpiring, t0.Add(20*24*time.Hour))},
			{time.Hour, tlsEnd(adsync.TLSExpired, t0)},
			{time.Hour, tlsEnd(adsync.TLSOK, t0.Add(365*24*time.Hour))},
		}, []string{"a:tls", "a:tls"}},
		{"the API budget past the pacing threshold, once for all organizations", []step{
			{0, budget(400)}, {time.Hour, budget(600)}, {0, func() adsync.RunEnd { e := budget(700); e.Run.OrgID = "b"; return e }()},
			{time.Hour, budget(300)}, {time.Hour, budget(800)},
		}, []string{"budget", "budget"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{now: t0}
			s := &sink{name: "sink"}
			n := newNotifier(t, notify.Config{Routes: []notify.Route{{Channel: s}}, Store: history.NewMemory(), Now: clk.Now})
			for _, st := range tc.steps {
				clk.Advance(st.after)
				n.RunFinished(st.end)
			}
			flush(t, n)
			assert.Equal(t, tc.want, s.events())
		})
	}
}

// R-RUN-1: daily runs start 24 hours apart and end when they end; a
// failure lasting is reminded at the next day's run even when that run is
// shorter than the one that alerted.
func TestReminderAtTheNextDailyRun(t *testing.T) {
	clk := &clock{now: t0}
	s := &sink{name: "sink"}
	n := newNotifier(t, notify.Config{Routes: []notify.Route{{Channel: s}}, Store: history.NewMemory(), Now: clk.Now})
	took := []time.Duration{10 * time.Minute, time.Minute, 30 * time.Minute, time.Minute}
	for day, d := range took {
		e := end("a", int64(day+1), adsync.StatusFailed)
		e.Run.Started = t0.Add(time.Duration(day) * 24 * time.Hour)
		e.Run.Ended = e.Run.Started.Add(d)
		clk.now = e.Run.Ended
		n.RunFinished(e)
	}
	flush(t, n)
	assert.Equal(t, []string{"a:failed", "a:failed(reminder)", "a:failed(reminder)", "a:failed(reminder)"}, s.events())
}

func TestAlertContents(t *testing.T) {
	s := &sink{name: "sink"}
	n := newNotifier(t, notify.Config{Routes: []notify.Route{{Channel: s}}, Store: history.NewMemory(), Now: func() time.Time { return t0 },
		ConsoleURL: "https://adsync.example.com/org/{org}/run/{run}"})
	h := end("contoso", 42, adsync.StatusHeld)
	h.Run.Held = make([]adsync.HeldDeactivation, 12)
	n.RunFinished(h)
	f := end("fabrikam", 7, adsync.StatusFailed)
	f.Run.Error = `adsync: check the directory of "fabrikam": certificate has expired`
	n.RunFinished(f)
	tl := end("tailspin", 9, adsync.StatusSucceeded)
	tl.Run.TLS, tl.CertExpiry = adsync.TLSExpiring, t0.Add(20*24*time.Hour+time.Hour)
	n.RunFinished(tl)
	flush(t, n)
	require.Len(t, s.alerts, 3)

	held := s.alerts[0]
	assert.Equal(t, notify.EventHeld, held.Event)
	assert.Equal(t, 12, held.Held)
	assert.Equal(t, "adsync approve --org contoso --run 42", held.ApproveCommand)
	assert.Equal(t, "https://adsync.example.com/org/contoso/run/42", held.ConsoleURL)
	assert.Contains(t, held.Text, held.ApproveCommand)

	failed := s.alerts[1]
	assert.Equal(t, notify.EventFailed, failed.Event)
	assert.Equal(t, f.Run.Error, failed.Error, "the cause as the CLI prints it")
	assert.Contains(t, failed.Text, f.Run.Error)

	tls := s.alerts[2]
	assert.Equal(t, notify.EventTLS, tls.Event)
	require.NotNil(t, tls.DaysLeft)
	assert.Equal(t, 20, *tls.DaysLeft)
	assert.Contains(t, tls.Title, "expires in 20 days")
}

func TestSelection(t *testing.T) {
	all, failures, contosoOnly := &sink{name: "all"}, &sink{name: "failures"}, &sink{name: "contoso"}
	n := newNotifier(t, notify.Config{Store: history.NewMemory(), Now: func() time.Time { return t0 },
		Routes: []notify.Route{
			{Channel: all},
			{Channel: failures, Events: []notify.Event{notify.EventFailed, notify.EventBudget}},
			{Channel: contosoOnly, Orgs: []string{"contoso"}},
		},
		OrgEvents: map[string][]notify.Event{"quiet": {notify.EventHeld}},
	})
	n.RunFinished(end("contoso", 1, adsync.StatusFailed))
	n.RunFinished(end("fabrikam", 2, adsync.StatusHeld))
	n.RunFinished(end("quiet", 3, adsync.StatusFailed)) // not selected for quiet
	b := end("fabrikam", 4, adsync.StatusHeld)
	b.Budget = &adsync.APIBudget{Used: 900, Limit: 1000, PaceAt: 0.5}
	n.RunFinished(b)
	flush(t, n)
	assert.Equal(t, []string{"contoso:failed", "fabrikam:held", "budget"}, all.events())
	assert.Equal(t, []string{"contoso:failed", "budget"}, failures.events())
	assert.Equal(t, []string{"contoso:failed", "budget"}, contosoOnly.events(), "alerts of no organization go to every route")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   notify.Config
		field string
	}{
		{"no store", notify.Config{}, "alerts.store"},
		{"nil channel", notify.Config{Store: history.NewMemory(), Routes: []notify.Route{{}}}, "alerts.channels[0]"},
		{"unknown event", notify.Config{Store: history.NewMemory(), Routes: []notify.Route{{Channel: &sink{}, Events: []notify.Event{"fail"}}}}, "alerts.channels[0].events"},
		{"unknown org event", notify.Config{Store: history.NewMemory(), OrgEvents: map[string][]notify.Event{"a": {"x"}}}, "alerts.orgs.a.events"},
		{"negative attempts", notify.Config{Store: history.NewMemory(), Attempts: -1}, "alerts.attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.New(tc.cfg)
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
		})
	}
}

// TestDedupAcrossRestarts keeps the states in a SQLite history that is
// closed and opened again between two notifiers, as across a restart.
func TestDedupAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	ctx := t.Context()
	clk := &clock{now: t0}
	life := func(ends ...adsync.RunEnd) []string {
		st, err := sqlite.Open(ctx, path, nil)
		require.NoError(t, err)
		defer st.Close()
		s := &sink{name: "sink"}
		n := newNotifier(t, notify.Config{Routes: []notify.Route{{Channel: s}}, Store: st, Now: clk.Now})
		for _, e := range ends {
			clk.Advance(time.Hour)
			n.RunFinished(e)
		}
		flush(t, n)
		return s.events()
	}
	assert.Equal(t, []string{"a:failed"}, life(end("a", 1, adsync.StatusFailed)))
	assert.Empty(t, life(end("a", 2, adsync.StatusFailed)), "restarted: the failure was alerted already")
	assert.Equal(t, []string{"a:recovered"}, life(end("a", 3, adsync.StatusSucceeded)))
}

// receiver is an HTTP server started by a test that keeps what it gets.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
	// status answers each request (default 200).
	status int
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusOK}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, received{req.Header.Clone(), b})
		st := r.status
		r.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

func TestWebhookIsSignedAndDocumented(t *testing.T) {
	rcv := newReceiver(t)
	secret := []byte("webhook-s3cret")
	n := newNotifier(t, notify.Config{Store: history.NewMemory(), Now: func() time.Time { return t0 },
		Routes: []notify.Route{{Channel: &notify.Webhook{URL: rcv.URL + "/hook", Secret: secret}}}})
	f := end("contoso", 5, adsync.StatusFailed)
	f.Run.Error = "adsync: check Autotask company 100 for \"contoso\": unauthorized"
	n.RunFinished(f)
	flush(t, n)
	reqs := rcv.got()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.Equal(t, "failed", r.header.Get(notify.EventHeader))
	assert.True(t, hmac.Equal([]byte(notify.Sign(secret, r.body)), []byte(r.header.Get(notify.SignatureHeader))), "the signature verifies")
	assert.False(t, hmac.Equal([]byte(notify.Sign([]byte("other"), r.body)), []byte(r.header.Get(notify.SignatureHeader))))
	assert.NotContains(t, string(r.body), string(secret))

	var body map[string]any
	require.NoError(t, json.Unmarshal(r.body, &body))
	assert.Equal(t, "failed", body["event"])
	assert.Equal(t, "contoso", body["orgId"])
	assert.Equal(t, float64(5), body["runId"])
	assert.Equal(t, f.Run.Error, body["error"])
	assert.Equal(t, "2026-11-02T03:00:00Z", body["time"])
	assert.NotEmpty(t, body["title"])
	assert.NotEmpty(t, body["text"])
}

func TestTeamsAndSlackMessageShapes(t *testing.T) {
	teams, slack := newReceiver(t), newReceiver(t)
	n := newNotifier(t, notify.Config{Store: history.NewMemory(), Now: func() time.Time { return t0 },
		ConsoleURL: "https://console.example/{org}/{run}",
		Routes: []notify.Route{
			{Channel: &notify.Teams{URL: teams.URL + "/workflows/abc"}},
			{Channel: &notify.Slack{URL: slack.URL + "/services/T0/B0/XYZ"}},
		}})
	h := end("contoso", 42, adsync.StatusHeld)
	h.Run.Held = make([]adsync.HeldDeactivation, 3)
	n.RunFinished(h)
	flush(t, n)

	require.Len(t, teams.got(), 1)
	var tm struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string           `json:"type"`
				Version string           `json:"version"`
				Body    []map[string]any `json:"body"`
				Actions []map[string]any `json:"actions"`
			} `json:"content"`
		} `json:"attachments"`
	}
	require.NoError(t, json.Unmarshal(teams.got()[0].body, &tm))
	assert.Equal(t, "message", tm.Type)
	require.Len(t, tm.Attachments, 1)
	card := tm.Attachments[0]
	assert.Equal(t, "application/vnd.microsoft.card.adaptive", card.ContentType)
	assert.Equal(t, "AdaptiveCard", card.Content.Type)
	assert.NotEmpty(t, card.Content.Version)
	require.GreaterOrEqual(t, len(card.Content.Body), 3)
	assert.Equal(t, "TextBlock", card.Content.Body[0]["type"])
	assert.Contains(t, card.Content.Body[0]["text"], "3 deactivations held")
	assert.Equal(t, "FactSet", card.Content.Body[2]["type"])
	require.Len(t, card.Content.Actions, 1)
	assert.Equal(t, "Action.OpenUrl", card.Content.Actions[0]["type"])
	assert.Equal(t, "https://console.example/contoso/42", card.Content.Actions[0]["url"])

	require.Len(t, slack.got(), 1)
	var sm struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Fields []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"fields"`
		} `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(slack.got()[0].body, &sm))
	assert.Contains(t, sm.Text, "3 deactivations held", "the notification text")
	require.Len(t, sm.Blocks, 3)
	assert.Equal(t, "header", sm.Blocks[0].Type)
	assert.Equal(t, "plain_text", sm.Blocks[0].Text.Type)
	assert.Equal(t, "section", sm.Blocks[1].Type)
	assert.Equal(t, "mrkdwn", sm.Blocks[1].Text.Type)
	assert.Contains(t, sm.Blocks[1].Text.Text, "adsync approve --org contoso --run 42")
	assert.NotEmpty(t, sm.Blocks[2].Fields)
}

// A failed delivery is retried, then logged without the webhook's URL
// (whose path is a token).
func TestFailedDeliveryRetriedAndLoggedWithoutSecrets(t *testing.T) {
	rcv := newReceiver(t)
	rcv.status = http.StatusServiceUnavailable
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	n := newNotifier(t, notify.Config{Store: history.NewMemory(), Attempts: 3, Logger: log,
		Routes: []notify.Route{{Channel: &notify.Slack{Label: "slack ops", URL: rcv.URL + "/services/T0/B0/SECRETTOKEN"}}}})
	n.RunFinished(end("a", 1, adsync.StatusFailed))
	flush(t, n)
	assert.Len(t, rcv.got(), 3, "three attempts")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, logs.String(), "delivery failed, alert dropped")
	assert.Contains(t, logs.String(), "slack ops")
	assert.Contains(t, logs.String(), "HTTP 503")
	assert.NotContains(t, logs.String(), "SECRETTOKEN")

	// Down altogether: the error has no URL either.
	rcv.Close()
	err := (&notify.Slack{URL: rcv.URL + "/services/T0/B0/SECRETTOKEN"}).Send(t.Context(), notify.Alert{Event: notify.EventTest})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "SECRETTOKEN")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// blocking is a channel whose Send waits until released: a channel that is
// down and does not answer.
type blocking struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blocking) Name() string { return "blocking" }
func (b *blocking) Send(ctx context.Context, a notify.Alert) error {
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A channel that does not answer neither delays nor fails runs: the
// runs complete while its Send is stuck.
func TestChannelDownDoesNotSlowTheRun(t *testing.T) {
	ctx := t.Context()
	hist := history.NewMemory()
	down := &blocking{entered: make(chan struct{}), release: make(chan struct{})}
	other := &sink{name: "other"}
	n := newNotifier(t, notify.Config{Store: hist, QueueSize: 2,
		Routes: []notify.Route{{Channel: down}, {Channel: other}}})
	store := contacts.NewMemory(nil)
	store.AddCompany(100, "Contoso")
	src := sourcetest.NewMemory(nil)
	syncer, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil), Fields: merge.New, Observer: n})
	require.NoError(t, err)
	org := adsync.Org{Config: adsync.OrgConfig{ID: "contoso", CompanyID: 100, Enabled: true, Directory: adsync.DirectoryLDAP}, Source: src}

	src.FailReadAfter(0, adsync.ErrUnavailable)
	_, err = syncer.Sync(ctx, org, adsync.TriggerForced)
	require.ErrorIs(t, err, adsync.ErrUnavailable)
	<-down.entered // the failure alert is stuck in the down channel
	for i := range 5 {
		src.ClearFaults()
		src.Put(adsync.User{ID: fmt.Sprint("u", i), Enabled: true, Values: values("Ann", fmt.Sprint("Lee", i), fmt.Sprintf("a%d@x.example", i))})
		run, err := syncer.Sync(ctx, org, adsync.TriggerForced)
		require.NoError(t, err, "run %d completes while the channel hangs", i)
		assert.Equal(t, adsync.StatusSucceeded, run.Status)
		src.FailReadAfter(0, adsync.ErrUnavailable)
		_, err = syncer.Sync(ctx, org, adsync.TriggerForced)
		require.Error(t, err)
	}
	close(down.release)
	flush(t, n)
	assert.Equal(t, []string{"contoso:failed", "contoso:recovered", "contoso:failed"}, other.events()[:3],
		"the other channel got its alerts meanwhile")
}

func values(first, last, email string) adsync.Values {
	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = first, last, email
	return v
}

func TestTestSendsToEachChannel(t *testing.T) {
	ok, bad := newReceiver(t), newReceiver(t)
	bad.status = http.StatusForbidden
	n := newNotifier(t, notify.Config{Store: history.NewMemory(), Routes: []notify.Route{
		{Channel: &notify.Webhook{Label: "good", URL: ok.URL}, Events: []notify.Event{notify.EventFailed}},
		{Channel: &notify.Teams{Label: "bad teams", URL: bad.URL + "/secret-path"}},
	}})
	err := n.Test(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad teams")
	assert.Contains(t, err.Error(), "HTTP 403")
	assert.NotContains(t, err.Error(), "secret-path")
	require.Len(t, ok.got(), 1, "a test goes to every channel whatever its events")
	assert.Equal(t, "test", ok.got()[0].header.Get(notify.EventHeader))
	assert.Len(t, bad.got(), 1)
}
