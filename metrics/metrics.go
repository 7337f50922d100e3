// Package metrics exposes an adsync service to Prometheus, and answers
// health checks.
//
// A Metrics is an adsync.Observer: set it as adsync.Options.Observer (or
// combine it with others through adsync.Observers) and serve Handler on
// /metrics. Every series is labelled by organization id at most (and by
// status, change kind, outcome, phase and directory type, each a closed
// set): user and contact ids never become labels, so the number of series
// grows with the organizations only.
//
// The series (all prefixed adsync_):
//
//	runs_total{org,status}                       runs finished, by status
//	run_duration_seconds{org}                    histogram of run wall times
//	contact_writes_total{org,kind,outcome}       contact writes by kind, ok or failed
//	open_conflicts{org}                          open conflicts after the last run
//	held_deactivations{org}                      deactivations held by the last run
//	last_success_timestamp_seconds{org}          end of the last succeeded run
//	last_run_timestamp_seconds{org}              end of the last run, any status
//	run_in_progress{org}                         1 while a run of this process goes on
//	tls_certificate_days_left{org}               days to the directory certificate's expiry, at scrape time
//	tls_certificate_expiry_timestamp_seconds{org} the directory certificate's expiry
//	autotask_api_calls_total{org}                Autotask API calls made by runs
//	autotask_budget_used, autotask_budget_limit  Autotask's requests this hour and the limit
//	read_duration_seconds{org,phase,directory}   histogram of the directory and contact reads
package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/psasync/adsync"
)

// BudgetReader reads the Autotask API budget at scrape time, so that the
// gauges stay current between runs. autotask.Client implements it (it is
// adsync.APIBudgetReader); a reader must not do I/O.
type BudgetReader = adsync.APIBudgetReader

// Defaults of Options.
const (
	// DefaultStuckAfter is how long a run may go on before /readyz reports
	// it stuck.
	DefaultStuckAfter = 6 * time.Hour
	// DefaultReadyTimeout bounds the history store's answer to /readyz.
	DefaultReadyTimeout = 5 * time.Second
)

// DefaultRunBuckets are the run duration buckets, in seconds: from a few
// seconds (a small incremental run) to two hours (400,000 users).
var DefaultRunBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200}

// DefaultReadBuckets are the read duration buckets, in seconds.
var DefaultReadBuckets = []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

// Options configure a Metrics. The zero value of each field means its
// documented default.
type Options struct {
	// Registry receives the collectors; nil makes a new one (with the Go
	// and process collectors), served by Handler.
	Registry *prometheus.Registry
	// Budget, when set, is read at each scrape for the budget gauges;
	// otherwise they show the reading of the last run.
	Budget BudgetReader
	// Directories gives each organization's directory type, for the
	// directory label of read_duration_seconds (Graph or LDAP reads);
	// missing organizations get "".
	Directories map[string]adsync.DirectoryType
	// RunBuckets and ReadBuckets override the histogram buckets.
	RunBuckets, ReadBuckets []float64
	// History is asked by /readyz whether it answers; nil skips that check.
	History adsync.RunStore
	// StuckAfter is how long a run may go on before /readyz fails
	// (default 6 h).
	StuckAfter time.Duration
	// ReadyTimeout bounds the history's answer to /readyz (default 5 s).
	ReadyTimeout time.Duration
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

// Metrics collects the runs of a Syncer for Prometheus. It is safe for
// concurrent use.
type Metrics struct {
	opts Options
	reg  *prometheus.Registry

	runs         *prometheus.CounterVec
	runDuration  *prometheus.HistogramVec
	writes       *prometheus.CounterVec
	conflicts    *prometheus.GaugeVec
	held         *prometheus.GaugeVec
	lastSuccess  *prometheus.GaugeVec
	lastRun      *prometheus.GaugeVec
	inProgress   *prometheus.GaugeVec
	tlsDays      *prometheus.Desc
	tlsExpiry    *prometheus.Desc
	apiCalls     *prometheus.CounterVec
	budgetUsed   prometheus.Gauge
	budgetLimit  prometheus.Gauge
	readDuration *prometheus.HistogramVec

	mu       sync.Mutex
	running  map[string]time.Time // organization → start of its run in progress
	budget   adsync.APIBudget     // the last run's reading
	budgetOK bool
	expiry   map[string]time.Time // organization → its certificate's expiry, as last seen
}

var _ adsync.Observer = (*Metrics)(nil)

// New returns a Metrics registered on opts.Registry (or a new registry).
func New(opts Options) (*Metrics, error) {
	if opts.StuckAfter < 0 || opts.ReadyTimeout < 0 {
		return nil, &adsync.ConfigError{Field: "metrics.stuckAfter", Problem: "durations must not be negative"}
	}
	if opts.StuckAfter == 0 {
		opts.StuckAfter = DefaultStuckAfter
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	if opts.RunBuckets == nil {
		opts.RunBuckets = DefaultRunBuckets
	}
	if opts.ReadBuckets == nil {
		opts.ReadBuckets = DefaultReadBuckets
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	org := []string{"org"}
	m := &Metrics{opts: opts, reg: reg, running: map[string]time.Time{}, expiry: map[string]time.Time{},
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "adsync_runs_total",
			Help: "Runs finished, by organization and status (succeeded, held, failed, interrupted)."}, []string{"org", "status"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "adsync_run_duration_seconds",
			Help: "Wall time of runs, by organization.", Buckets: opts.RunBuckets}, org),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "adsync_contact_writes_total",
			Help: "Autotask contact writes, by organization, kind (create, link, update, reactivate, deactivate) and outcome (ok, failed)."},
			[]string{"org", "kind", "outcome"}),
		conflicts: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "adsync_open_conflicts",
			Help: "Open conflicts of the organization after its last run."}, org),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "adsync_held_deactivations",
			Help: "Deactivations held for approval by the organization's last run."}, org),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "adsync_last_success_timestamp_seconds",
			Help: "Unix time at which the organization's last succeeded run ended."}, org),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "adsync_last_run_timestamp_seconds",
			Help: "Unix time at which the organization's last run ended, whatever its status."}, org),
		inProgress: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "adsync_run_in_progress",
			Help: "1 while a run of the organization goes on in this process."}, org),
		tlsDays: prometheus.NewDesc("adsync_tls_certificate_days_left",
			"Whole days until the organization's directory certificate (as its last run saw it) expires, at scrape time; negative once expired.", org, nil),
		tlsExpiry: prometheus.NewDesc("adsync_tls_certificate_expiry_timestamp_seconds",
			"Unix time at which the organization's directory certificate (as its last run saw it) expires.", org, nil),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "adsync_autotask_api_calls_total",
			Help: "Autotask API calls made by the organization's runs."}, org),
		budgetUsed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "adsync_autotask_budget_used",
			Help: "Requests Autotask counts against the database this hour (ThresholdInformation)."}),
		budgetLimit: prometheus.NewGauge(prometheus.GaugeOpts{Name: "adsync_autotask_budget_limit",
			Help: "Autotask's hourly request limit for the database (ThresholdInformation)."}),
		readDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "adsync_read_duration_seconds",
			Help:    "Duration of complete reads, by organization, phase (read-directory: Graph or LDAP; read-contacts: Autotask) and directory type.",
			Buckets: opts.ReadBuckets}, []string{"org", "phase", "directory"}),
	}
	cs := []prometheus.Collector{m.runs, m.runDuration, m.writes, m.conflicts, m.held, m.lastSuccess, m.lastRun,
		m.inProgress, m.apiCalls, budgetCollector{m}, certCollector{m}, m.readDuration}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// RunStarted marks the organization's run in progress.
func (m *Metrics) RunStarted(e adsync.RunStart) {
	m.mu.Lock()
	m.running[e.OrgID] = e.Started
	m.mu.Unlock()
	m.inProgress.WithLabelValues(e.OrgID).Set(1)
}

// Wrote counts the write.
func (m *Metrics) Wrote(e adsync.WriteEvent) {
	outcome := "ok"
	if e.Err != nil {
		outcome = "failed"
	}
	m.writes.WithLabelValues(e.OrgID, string(e.Kind), outcome).Inc()
}

// RunFinished records the run.
func (m *Metrics) RunFinished(e adsync.RunEnd) {
	r := &e.Run
	org := r.OrgID
	m.mu.Lock()
	delete(m.running, org)
	if e.Budget != nil {
		m.budget, m.budgetOK = *e.Budget, true
	}
	if !e.CertExpiry.IsZero() {
		m.expiry[org] = e.CertExpiry
	}
	m.mu.Unlock()
	m.inProgress.WithLabelValues(org).Set(0)
	m.runs.WithLabelValues(org, string(r.Status)).Inc()
	if d := r.Duration(); d > 0 {
		m.runDuration.WithLabelValues(org).Observe(d.Seconds())
	}
	if !r.Ended.IsZero() {
		m.lastRun.WithLabelValues(org).Set(unix(r.Ended))
		if r.Status == adsync.StatusSucceeded {
			m.lastSuccess.WithLabelValues(org).Set(unix(r.Ended))
		}
	}
	if e.OpenConflicts >= 0 {
		m.conflicts.WithLabelValues(org).Set(float64(e.OpenConflicts))
	}
	if r.Status == adsync.StatusSucceeded || r.Status == adsync.StatusHeld {
		m.held.WithLabelValues(org).Set(float64(len(r.Held)))
	}
	m.apiCalls.WithLabelValues(org).Add(float64(r.APICalls))
	for ph, d := range e.Reads {
		m.readDuration.WithLabelValues(org, string(ph), string(m.opts.Directories[org])).Observe(d.Seconds())
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// budgetCollector reports the budget gauges, read at scrape time from
// Options.Budget when set, else from the last run.
type budgetCollector struct{ m *Metrics }

func (b budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	b.m.budgetUsed.Describe(ch)
	b.m.budgetLimit.Describe(ch)
}

func (b budgetCollector) Collect(ch chan<- prometheus.Metric) {
	m := b.m
	m.mu.Lock()
	reading, ok := m.budget, m.budgetOK
	m.mu.Unlock()
	if m.opts.Budget != nil {
		if r, rok := m.opts.Budget.APIBudget(); rok {
			reading, ok = r, true
		}
	}
	if !ok {
		return // no reading yet: no series rather than a false zero
	}
	m.budgetUsed.Set(float64(reading.Used))
	m.budgetLimit.Set(float64(reading.Limit))
	m.budgetUsed.Collect(ch)
	m.budgetLimit.Collect(ch)
}

// certCollector reports the certificates' expiry, and the days left
// computed at scrape time: the gauge counts down between runs.
type certCollector struct{ m *Metrics }

func (c certCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.m.tlsDays
	ch <- c.m.tlsExpiry
}

func (c certCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	now := m.opts.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for org, exp := range m.expiry {
		ch <- prometheus.MustNewConstMetric(m.tlsDays, prometheus.GaugeValue, math.Floor(exp.Sub(now).Hours()/24), org)
		ch <- prometheus.MustNewConstMetric(m.tlsExpiry, prometheus.GaugeValue, unix(exp), org)
	}
}

// Registry is the registry the collectors are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' format: mount it on /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Healthz answers 200 "ok" while the process serves HTTP: a liveness probe.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
}

// Ready returns nil when the service is ready: the history store answers
// (Options.History) and no run of this process has gone on longer than
// Options.StuckAfter. Otherwise the error says what is wrong.
func (m *Metrics) Ready(ctx context.Context) error {
	var problems []string
	now := m.opts.Now()
	m.mu.Lock()
	for org, started := range m.running {
		if d := now.Sub(started); d > m.opts.StuckAfter {
			problems = append(problems, fmt.Sprintf("the run of %s has gone on for %s (limit %s)", org, d.Round(time.Second), m.opts.StuckAfter))
		}
	}
	m.mu.Unlock()
	if m.opts.History != nil {
		ctx, cancel := context.WithTimeout(ctx, m.opts.ReadyTimeout)
		defer cancel()
		// Any organization id will do: the question is whether the
		// store answers.
		if _, err := m.opts.History.Runs(ctx, "readyz", 1); err != nil {
			problems = append(problems, "the history store does not answer: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Readyz answers 200 "ready" when Ready returns nil, 503 with the reasons
// otherwise: a readiness probe.
func (m *Metrics) Readyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := m.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
}

// Mount registers /metrics, /healthz and /readyz on mux.
func (m *Metrics) Mount(mux *http.ServeMux) {
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("GET /healthz", Healthz())
	mux.Handle("GET /readyz", m.Readyz())
}
