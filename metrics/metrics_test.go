package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/metrics"
	"github.com/psasync/adsync/source/sourcetest"
)

var t0 = time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)

// ticker is a clock that moves one second each time it is read, so that
// runs take time.
type ticker struct {
	mu  sync.Mutex
	now time.Time
}

func (c *ticker) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

// NewTimer never fires: no Scheduler runs on this clock.
func (c *ticker) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	return make(chan time.Time), func() bool { return true }
}

// certSource is a directory whose check reports a certificate.
type certSource struct {
	*sourcetest.Memory
	expiry time.Time
}

func (s certSource) Check(ctx context.Context) (adsync.ConnStatus, error) {
	st, err := s.Memory.Check(ctx)
	st.TLS, st.CertExpiry = adsync.TLSExpiring, s.expiry
	return st, err
}

// budgetStore reports an Autotask budget.
type budgetStore struct{ *contacts.Memory }

func (budgetStore) APIBudget() (adsync.APIBudget, bool) {
	return adsync.APIBudget{Used: 600, Limit: 1000, PaceAt: 0.5}, true
}

func user(i int, email string) adsync.User {
	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = "A", fmt.Sprint("B", i), email
	return adsync.User{ID: fmt.Sprintf("u%02d", i), Enabled: true, Values: v}
}

func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	return fams
}

// value returns the value of the series of name with the labels, and
// whether it exists.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetricsAfterRuns(t *testing.T) {
	ctx := t.Context()
	clk := &ticker{now: t0}
	scrapeAt := t0
	m, err := metrics.New(metrics.Options{Now: func() time.Time { return scrapeAt },
		Directories: map[string]adsync.DirectoryType{"contoso": adsync.DirectoryLDAP}})
	require.NoError(t, err)
	mem := contacts.NewMemory(nil)
	mem.AddCompany(100, "Contoso")
	hist := history.NewMemory()
	src := sourcetest.NewMemory(nil)
	s, err := adsync.NewSyncer(adsync.Options{Store: budgetStore{mem}, History: hist, Matcher: matcher.New(nil), Fields: merge.New,
		Observer: m, Clock: clk})
	require.NoError(t, err)
	org := adsync.Org{Config: adsync.OrgConfig{ID: "contoso", CompanyID: 100, Enabled: true, Directory: adsync.DirectoryLDAP},
		Source: certSource{src, t0.Add(20*24*time.Hour + time.Hour)}}

	// Run 1: 30 users created, two more share an email (conflicts).
	for i := range 30 {
		src.Put(user(i, fmt.Sprintf("u%d@x.example", i)))
	}
	src.Put(user(30, "dup@x.example"), user(31, "DUP@x.example"))
	r1, err := s.Sync(ctx, org, adsync.TriggerScheduled)
	require.NoError(t, err)
	require.Equal(t, adsync.StatusSucceeded, r1.Status)
	// Run 2: 12 leave: held by the guard (R-DEACT-4).
	for i := range 12 {
		src.Remove(fmt.Sprintf("u%02d", i))
	}
	r2, err := s.Sync(ctx, org, adsync.TriggerScheduled)
	require.NoError(t, err)
	require.Equal(t, adsync.StatusHeld, r2.Status)
	// Run 3: the directory refuses the bind.
	src.FailCheck(fmt.Errorf("bind refused: %w", adsync.ErrUnauthorized))
	r3, err := s.Sync(ctx, org, adsync.TriggerScheduled)
	require.Error(t, err)

	fams := scrape(t, m.Handler())
	contoso := map[string]string{"org": "contoso"}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"adsync_runs_total", map[string]string{"org": "contoso", "status": "succeeded"}, 1},
		{"adsync_runs_total", map[string]string{"org": "contoso", "status": "held"}, 1},
		{"adsync_runs_total", map[string]string{"org": "contoso", "status": "failed"}, 1},
		{"adsync_run_duration_seconds", contoso, 3},
		{"adsync_contact_writes_total", map[string]string{"org": "contoso", "kind": "create", "outcome": "ok"}, 30},
		{"adsync_open_conflicts", contoso, 2},
		{"adsync_held_deactivations", contoso, 12},
		{"adsync_last_success_timestamp_seconds", contoso, float64(r1.Ended.Unix())},
		{"adsync_last_run_timestamp_seconds", contoso, float64(r3.Ended.Unix())},
		{"adsync_run_in_progress", contoso, 0},
		{"adsync_tls_certificate_days_left", contoso, 20},
		{"adsync_tls_certificate_expiry_timestamp_seconds", contoso, float64(t0.Add(20*24*time.Hour + time.Hour).Unix())},
		{"adsync_autotask_api_calls_total", contoso, float64(r1.APICalls + r2.APICalls + r3.APICalls)},
		{"adsync_autotask_budget_used", nil, 600},
		{"adsync_autotask_budget_limit", nil, 1000},
		{"adsync_read_duration_seconds", map[string]string{"org": "contoso", "phase": "read-directory", "directory": "ldap"}, 2},
		{"adsync_read_duration_seconds", map[string]string{"org": "contoso", "phase": "read-contacts", "directory": "ldap"}, 2},
	}
	for _, tc := range tests {
		got, ok := value(fams, tc.name, tc.labels)
		if assert.True(t, ok, "%s%v is missing", tc.name, tc.labels) {
			assert.Equal(t, tc.want, got, "%s%v", tc.name, tc.labels)
		}
	}
	require.Positive(t, r1.APICalls, "the store counts its calls")

	// The days left count down between runs.
	scrapeAt = t0.Add(5 * 24 * time.Hour)
	days, ok := value(scrape(t, m.Handler()), "adsync_tls_certificate_days_left", contoso)
	require.True(t, ok)
	assert.Equal(t, 15.0, days)

	// Bounded cardinality: no label but the closed sets and org ids.
	for name, f := range fams {
		if !strings.HasPrefix(name, "adsync_") {
			continue
		}
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				assert.Contains(t, []string{"org", "status", "kind", "outcome", "phase", "directory", "le"}, l.GetName(), name)
				assert.NotRegexp(t, `^u\d+$`, l.GetValue(), "no user id as a label value")
			}
		}
	}
}

func TestBudgetReadAtScrape(t *testing.T) {
	reader := &fixedBudget{}
	m, err := metrics.New(metrics.Options{Budget: reader})
	require.NoError(t, err)
	_, ok := value(scrape(t, m.Handler()), "adsync_autotask_budget_used", nil)
	assert.False(t, ok, "no reading yet: no series")
	reader.set(adsync.APIBudget{Used: 42, Limit: 10000})
	got, ok := value(scrape(t, m.Handler()), "adsync_autotask_budget_used", nil)
	require.True(t, ok)
	assert.Equal(t, 42.0, got)
}

type fixedBudget struct {
	mu sync.Mutex
	b  *adsync.APIBudget
}

func (f *fixedBudget) set(b adsync.APIBudget) { f.mu.Lock(); f.b = &b; f.mu.Unlock() }
func (f *fixedBudget) APIBudget() (adsync.APIBudget, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.b == nil {
		return adsync.APIBudget{}, false
	}
	return *f.b, true
}

// brokenRuns is a history whose runs cannot be read.
type brokenRuns struct{ adsync.HistoryStore }

func (brokenRuns) Runs(context.Context, string, int) ([]adsync.Run, error) {
	return nil, fmt.Errorf("history/postgres: load runs: %w", adsync.ErrUnavailable)
}

func TestHealthAndReadiness(t *testing.T) {
	now := t0
	tests := []struct {
		name     string
		history  adsync.RunStore
		started  time.Time // a run in progress since, zero for none
		wantCode int
		wantBody string
	}{
		{"ready", history.NewMemory(), time.Time{}, http.StatusOK, "ready"},
		{"a run going on within the limit", history.NewMemory(), now.Add(-time.Hour), http.StatusOK, "ready"},
		{"a run stuck past the limit", history.NewMemory(), now.Add(-7 * time.Hour), http.StatusServiceUnavailable, "the run of contoso has gone on for 7h0m0s"},
		{"the history does not answer", brokenRuns{history.NewMemory()}, time.Time{}, http.StatusServiceUnavailable, "the history store does not answer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := metrics.New(metrics.Options{History: tc.history, Now: func() time.Time { return now }})
			require.NoError(t, err)
			if !tc.started.IsZero() {
				m.RunStarted(adsync.RunStart{OrgID: "contoso", RunID: 1, Started: tc.started})
			}
			mux := http.NewServeMux()
			m.Mount(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			code, body := get(t, srv.URL+"/readyz")
			assert.Equal(t, tc.wantCode, code)
			assert.Contains(t, body, tc.wantBody)
			code, body = get(t, srv.URL+"/healthz")
			assert.Equal(t, http.StatusOK, code, "alive whatever readiness says")
			assert.Equal(t, "ok\n", body)
			code, _ = get(t, srv.URL+"/metrics")
			assert.Equal(t, http.StatusOK, code)
		})
	}
	// A finished run is no longer in progress.
	m, err := metrics.New(metrics.Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	m.RunStarted(adsync.RunStart{OrgID: "contoso", Started: now.Add(-8 * time.Hour)})
	require.Error(t, m.Ready(t.Context()))
	m.RunFinished(adsync.RunEnd{Run: adsync.Run{OrgID: "contoso", Status: adsync.StatusFailed}, OpenConflicts: -1})
	require.NoError(t, m.Ready(t.Context()))
	var ce *adsync.ConfigError
	_, err = metrics.New(metrics.Options{StuckAfter: -time.Second})
	require.True(t, errors.As(err, &ce))
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}
