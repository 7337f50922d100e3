package cli

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync/notify"
)

// hookReceiver is an HTTP receiver started by a test.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
}

func newHookReceiver(t *testing.T, status int) *hookReceiver {
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.sigs = append(h.sigs, r.Header.Get(notify.SignatureHeader))
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, b := range h.bodies {
		var a notify.Alert
		if json.Unmarshal(b, &a) == nil {
			out = append(out, string(a.Event))
		}
	}
	return out
}

// withAlerts appends an alerts section (and more) to the world's file.
func (w *cliWorld) withAlerts(t *testing.T, yaml string) {
	t.Helper()
	f, err := os.OpenFile(w.config, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(yaml)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestAlertTest(t *testing.T) {
	w := newCLIWorld(t, 1)
	hook, slack := newHookReceiver(t, http.StatusOK), newHookReceiver(t, http.StatusOK)
	w.withAlerts(t, `alerts:
  channels:
    - name: ops hook
      events: [failed]
      webhook:
        url: `+hook.URL+`/adsync
        secretEnv: HOOK_SECRET
    - slack:
        urlEnv: SLACK_URL
`)
	w.inv.env["HOOK_SECRET"] = "hook-s3cret"
	w.inv.env["SLACK_URL"] = slack.URL + "/services/T0/B0/TOKEN"
	r := w.run(t, "alert", "test")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, "test alert sent to ops hook\ntest alert sent to slack\n", r.stdout)
	assert.Equal(t, []string{"test"}, hook.events(), "a test goes to every channel whatever its events")
	assert.True(t, hmac.Equal([]byte(notify.Sign([]byte("hook-s3cret"), hook.bodies[0])), []byte(hook.sigs[0])))
	assert.Len(t, slack.bodies, 1)

	// A channel that refuses: exit 1, the channel named, its URL not.
	slack.Close()
	r = w.run(t, "alert", "test")
	assert.Equal(t, ExitFailed, r.code)
	assert.Contains(t, r.stderr, "channel slack")
	assert.NotContains(t, r.stderr, "TOKEN")

	r = w.run(t, "alert")
	assert.Equal(t, ExitUsage, r.code)
}

func TestAlertConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"a Slack URL written inline", "alerts:\n  channels:\n    - slack:\n        url: https://hooks.slack.com/services/T/B/SECRET\n",
			"alerts.channels[0].slack.url: secrets are not written in the configuration file"},
		{"an unknown event", "alerts:\n  channels:\n    - events: [fail]\n      slack: {urlEnv: SLACK_URL}\n", `alerts.channels[0].events: unknown event "fail"`},
		{"an unknown key", "alerts:\n  channels:\n    - slak: {urlEnv: SLACK_URL}\n", `unknown key "slak" (did you mean "slack"?)`},
		{"no channel", "alerts: {}\n", "alerts.channels: no alert channel is configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newCLIWorld(t, 1)
			w.inv.env["SLACK_URL"] = "https://hooks.slack.com/services/T/B/X"
			w.withAlerts(t, tc.yaml)
			r := w.run(t, "alert", "test")
			assert.Equal(t, ExitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
			assert.NotContains(t, r.stderr, "SECRET")
		})
	}
}

// TestServeAlertsAndMetrics: serve alerts through the configured channels
// and answers /metrics, /healthz and /readyz on metrics.listen.
func TestServeAlertsAndMetrics(t *testing.T) {
	w := newCLIWorld(t, 4)
	hook := newHookReceiver(t, http.StatusOK)
	w.withAlerts(t, `alerts:
  channels:
    - webhook:
        url: `+hook.URL+`
metrics:
  listen: 127.0.0.1:0
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	off := false
	a := &app{stdout: &out, stderr: &errb, terminal: &off, httpClient: w.inv.httpClient,
		getenv: func(k string) string { return w.inv.env[k] }}
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, []string{"serve"}) }()
	require.Eventually(t, func() bool { return strings.Contains(errb.String(), "run finished") }, 30*time.Second, 20*time.Millisecond)
	addr := regexp.MustCompile(`serving /metrics.* address=(\S+)`).FindStringSubmatch(errb.String())
	require.NotNil(t, addr, errb.String())
	base := "http://" + addr[1]

	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	runs := fams["adsync_runs_total"]
	require.NotNil(t, runs)
	require.Len(t, runs.GetMetric(), 1)
	assert.Equal(t, 1.0, runs.GetMetric()[0].GetCounter().GetValue())
	conflicts := fams["adsync_open_conflicts"]
	require.NotNil(t, conflicts)
	assert.Equal(t, 2.0, conflicts.GetMetric()[0].GetGauge().GetValue(), "two users share an email (R-CONF-1)")
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
	}

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, ExitOK, code, errb.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	assert.Equal(t, []string{"conflicts"}, hook.events(), "the new conflicts were alerted before serve returned")
}
