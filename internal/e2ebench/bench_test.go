package e2ebench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/graph"
)

func TestMain(m *testing.M) {
	if os.Getenv("E2EBENCH_EMULATOR") == "1" {
		serveEmulators()
		return
	}
	os.Exit(m.Run())
}

// inFlight is Autotask's thread limit per endpoint (§5.2): the most calls
// a run can have waiting on one endpoint at once.
const inFlight = 3

// constantCalls is the constant of the call bound: the company check
// (Companies/query/count), the budget's first ThresholdInformation read
// and the count of contacts that splits the read into id ranges.
const constantCalls = 3

// scale divides RealisticLatency (200 ms per call, 1 ms per record) for
// the runs: E2EBENCH_SCALE for the first run (default 50: 4 ms per call;
// the client's own time per call, about 0.45 ms on the 2 cores of
// BENCHMARKS.md, would be a fifth of 2 ms and is a fifth of a percent of
// Autotask's 200 ms),
// E2EBENCH_STEADY_SCALE for the daily and no-change runs and for the cost
// per record of every run (default 10: 20 ms per call, 0.1 ms per record).
// A first run of 398,000 users makes about 750,000 calls: 42 hours at
// Autotask's latency and 3 in flight, so it can only be measured scaled
// down; the others are short enough to run nearer the real latency.
func scale(tb testing.TB, name string, def float64) float64 {
	s := def
	if v := os.Getenv(name); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			tb.Fatalf("%s=%q: want a positive number", name, v)
		}
		s = f
	}
	return s
}

// latencies are the per-call latencies of the first and later runs and the
// per-record latency of all runs.
func latencies(tb testing.TB) (first, steady, perRecord time.Duration) {
	real := autotasktest.RealisticLatency()
	fs, ss := scale(tb, "E2EBENCH_SCALE", 50), scale(tb, "E2EBENCH_STEADY_SCALE", 10)
	return time.Duration(float64(real.PerCall) / fs), time.Duration(float64(real.PerCall) / ss),
		time.Duration(float64(real.PerRecord) / ss)
}

// sizes are the organization sizes: E2EBENCH_SIZES, default 10,000.
func sizes(tb testing.TB) []int {
	v := os.Getenv("E2EBENCH_SIZES")
	if v == "" {
		return []int{10_000}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 100 || n > adsync.DefaultMaxUsers {
			tb.Fatalf("E2EBENCH_SIZES=%q: want sizes from 100 to %d, comma-separated", v, adsync.DefaultMaxUsers)
		}
		out = append(out, n)
	}
	return out
}

// logOff reports whether E2EBENCH_LOG is "off": the history then saves
// no change records (timedHistory.noLog), to measure what the change log
// adds to each run's history save. Default "on".
func logOff(tb testing.TB) bool {
	switch v := os.Getenv("E2EBENCH_LOG"); v {
	case "", "on":
		return false
	case "off":
		return true
	default:
		tb.Fatalf("E2EBENCH_LOG=%q: want on or off", v)
		return false
	}
}

// dailies is the number of daily runs after the first run: E2EBENCH_DAILY,
// default 1. Each changes the directory anew (1 % changed, 0.5 % new,
// 0.2 % leaving), as days in a row do: more of them give the history
// save of a daily run as a sum, steadier than one run's.
func dailies(tb testing.TB) int {
	v := os.Getenv("E2EBENCH_DAILY")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 20 {
		tb.Fatalf("E2EBENCH_DAILY=%q: want a number of daily runs from 1 to 20", v)
	}
	return n
}

// emulatorProc is the child process running both emulators.
type emulatorProc struct {
	cmd *exec.Cmd
	in  *json.Encoder
	out *bufio.Scanner
}

func startEmulators(tb testing.TB) *emulatorProc {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "E2EBENCH_EMULATOR=1")
	cmd.Stderr = os.Stderr
	w, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &emulatorProc{cmd: cmd, in: json.NewEncoder(w), out: bufio.NewScanner(r)}
	p.out.Buffer(make([]byte, 1<<20), 1<<20)
	tb.Cleanup(func() { _ = w.Close(); _ = cmd.Wait() })
	return p
}

func (p *emulatorProc) do(tb testing.TB, c command) answer {
	tb.Helper()
	if err := p.in.Encode(c); err != nil {
		tb.Fatalf("emulators: %v", err)
	}
	if !p.out.Scan() {
		tb.Fatalf("emulators: no answer to %s: %v", c.Op, p.out.Err())
	}
	var a answer
	if err := json.Unmarshal(p.out.Bytes(), &a); err != nil {
		tb.Fatalf("emulators: %v", err)
	}
	if a.Error != "" {
		tb.Fatalf("emulators: %s: %s", c.Op, a.Error)
	}
	return a
}

// timedHistory is the SQLite history with the time spent in its calls
// added up: saves (every call that writes) apart from loads. It wraps
// every method of adsync.HistoryStore itself, not by embedding, so that
// the compiler fails the package when the interface gains a method (a
// write that an embedded store would pass through untimed: PutOutcomes
// once did). noLog drops the change records from PutChanges and
// PutOutcomes and keeps their links, journal and outcomes' links: the
// saves as the Syncer made them before the change log, for the A/B of
// E2EBENCH_LOG=off.
type timedHistory struct {
	st         *sqlite.Store
	noLog      bool
	mu         sync.Mutex
	save, load time.Duration
}

var _ adsync.HistoryStore = (*timedHistory)(nil)

func (h *timedHistory) saved(t time.Time) {
	h.mu.Lock()
	h.save += time.Since(t)
	h.mu.Unlock()
}

func (h *timedHistory) loaded(t time.Time) {
	h.mu.Lock()
	h.load += time.Since(t)
	h.mu.Unlock()
}

func (h *timedHistory) take() (save, load time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	save, load, h.save, h.load = h.save, h.load, 0, 0
	return save, load
}

func (h *timedHistory) StartRun(ctx context.Context, r adsync.Run) (adsync.Run, error) {
	defer h.saved(time.Now())
	return h.st.StartRun(ctx, r)
}

func (h *timedHistory) FinishRun(ctx context.Context, r adsync.Run) error {
	defer h.saved(time.Now())
	return h.st.FinishRun(ctx, r)
}

func (h *timedHistory) Runs(ctx context.Context, orgID string, limit int) ([]adsync.Run, error) {
	defer h.loaded(time.Now())
	return h.st.Runs(ctx, orgID, limit)
}

func (h *timedHistory) Run(ctx context.Context, orgID string, id int64) (adsync.Run, error) {
	defer h.loaded(time.Now())
	return h.st.Run(ctx, orgID, id)
}

func (h *timedHistory) InterruptRuns(ctx context.Context, now time.Time) (int, error) {
	defer h.saved(time.Now())
	return h.st.InterruptRuns(ctx, now)
}

func (h *timedHistory) Links(ctx context.Context, orgID string) ([]adsync.Link, error) {
	defer h.loaded(time.Now())
	return h.st.Links(ctx, orgID)
}

func (h *timedHistory) PutLinks(ctx context.Context, orgID string, links []adsync.Link) error {
	defer h.saved(time.Now())
	return h.st.PutLinks(ctx, orgID, links)
}

func (h *timedHistory) DeleteLinks(ctx context.Context, orgID string, userIDs []string) error {
	defer h.saved(time.Now())
	return h.st.DeleteLinks(ctx, orgID, userIDs)
}

// logged times a save of change records with links: save itself, or with
// noLog the links alone (nothing when there are none, as the Syncer saved
// before the change log).
func (h *timedHistory) logged(ctx context.Context, orgID string, links []adsync.Link, save func() error) error {
	defer h.saved(time.Now())
	if h.noLog {
		return h.st.PutLinks(ctx, orgID, links)
	}
	return save()
}

func (h *timedHistory) PutChanges(ctx context.Context, orgID string, runID int64, cs []adsync.ChangeRecord, links []adsync.Link) error {
	return h.logged(ctx, orgID, links, func() error { return h.st.PutChanges(ctx, orgID, runID, cs, links) })
}

func (h *timedHistory) PutOutcomes(ctx context.Context, orgID string, runID int64, w adsync.Written, cs []adsync.ChangeRecord,
	links []adsync.Link) error {
	return h.logged(ctx, orgID, links, func() error { return h.st.PutOutcomes(ctx, orgID, runID, w, cs, links) })
}

func (h *timedHistory) Changes(ctx context.Context, orgID string, f adsync.ChangeFilter) ([]adsync.ChangeRecord, error) {
	defer h.loaded(time.Now())
	return h.st.Changes(ctx, orgID, f)
}

func (h *timedHistory) Conflicts(ctx context.Context, orgID string) ([]adsync.Conflict, error) {
	defer h.loaded(time.Now())
	return h.st.Conflicts(ctx, orgID)
}

func (h *timedHistory) ReplaceConflicts(ctx context.Context, orgID string, cs []adsync.Conflict) error {
	defer h.saved(time.Now())
	return h.st.ReplaceConflicts(ctx, orgID, cs)
}

func (h *timedHistory) Resolutions(ctx context.Context, orgID string) ([]adsync.Resolution, error) {
	defer h.loaded(time.Now())
	return h.st.Resolutions(ctx, orgID)
}

func (h *timedHistory) PutResolution(ctx context.Context, r adsync.Resolution) error {
	defer h.saved(time.Now())
	return h.st.PutResolution(ctx, r)
}

func (h *timedHistory) DeleteResolution(ctx context.Context, orgID, userID string) error {
	defer h.saved(time.Now())
	return h.st.DeleteResolution(ctx, orgID, userID)
}

func (h *timedHistory) Exemptions(ctx context.Context, orgID string) ([]adsync.Exemption, error) {
	defer h.loaded(time.Now())
	return h.st.Exemptions(ctx, orgID)
}

func (h *timedHistory) PutExemption(ctx context.Context, e adsync.Exemption) error {
	defer h.saved(time.Now())
	return h.st.PutExemption(ctx, e)
}

func (h *timedHistory) DeleteExemption(ctx context.Context, orgID string, contactID int64) error {
	defer h.saved(time.Now())
	return h.st.DeleteExemption(ctx, orgID, contactID)
}

// TryLock is not timed: the lock is held for the run, not saved.
func (h *timedHistory) TryLock(ctx context.Context, orgID string) (adsync.Lock, error) {
	return h.st.TryLock(ctx, orgID)
}

func (h *timedHistory) ClaimNotice(ctx context.Context, orgID, key, state string, now time.Time, remindAfter time.Duration) (string, bool, error) {
	defer h.saved(time.Now())
	return h.st.ClaimNotice(ctx, orgID, key, state, now, remindAfter)
}

// readTimes keeps the read durations of the last run (RunEnd.Reads).
type readTimes struct {
	mu    sync.Mutex
	reads map[adsync.Phase]time.Duration
}

func (o *readTimes) RunStarted(adsync.RunStart) {}
func (o *readTimes) Wrote(adsync.WriteEvent)    {}
func (o *readTimes) RunFinished(e adsync.RunEnd) {
	o.mu.Lock()
	o.reads = e.Reads
	o.mu.Unlock()
}

func (o *readTimes) get(p adsync.Phase) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reads[p]
}

// result is one measured run.
type result struct {
	wall, planWall, applyWall time.Duration
	calls                     map[string]int
	total                     int
	boundCalls                int
	boundWall                 time.Duration
	rss, emuRSS               int64
	save, load                time.Duration
	run                       adsync.Run
	readDir, readContacts     time.Duration
}

// env is one organization, its emulators and the Syncer.
type env struct {
	emu      *emulatorProc
	syncer   *adsync.Syncer
	hist     *timedHistory
	reads    *readTimes
	org      adsync.Org
	perCall  time.Duration
	perRec   time.Duration
	contacts int // contacts in the company before the run
}

// graphSource is the Graph source reading the emulator's synced group.
func graphSource(b *testing.B, a answer) (adsync.DirectorySource, adsync.DirectoryType) {
	src, err := graph.New(graph.Config{GroupID: a.Group, BaseURL: a.GraphURL, Credential: graph.StaticToken("e2ebench")})
	if err != nil {
		b.Fatal(err)
	}
	return src, adsync.DirectoryAzure
}

// newEnv starts the emulators with users in the Graph emulator (0 for
// another directory) and matched of them with a contact, and wires the
// Syncer to the source source makes.
func newEnv(b *testing.B, users, matched int, source func(*testing.B, answer) (adsync.DirectorySource, adsync.DirectoryType)) *env {
	b.Helper()
	e := &env{emu: startEmulators(b)}
	_, _, e.perRec = latencies(b)
	a := e.emu.do(b, command{Op: "setup", Users: users, Matched: matched, PerRecor: e.perRec})
	e.contacts = matched
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "history.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	e.hist = &timedHistory{st: st, noLog: logOff(b)}
	client, err := autotask.New(autotask.Config{IntegrationCode: a.Code, Username: a.User, Secret: adsync.NewSecret(a.Secret),
		ZoneLookupURL: a.ZoneURL})
	if err != nil {
		b.Fatal(err)
	}
	src, dir := source(b, a)
	e.reads = &readTimes{}
	e.syncer, err = adsync.NewSyncer(adsync.Options{Store: client, History: e.hist, Matcher: matcher.New(nil), Fields: merge.New,
		Observer: e.reads})
	if err != nil {
		b.Fatal(err)
	}
	e.org = adsync.Org{Config: adsync.OrgConfig{ID: "contoso", Name: "Contoso", CompanyID: a.Company, Enabled: true,
		Directory: dir, BillingProductID: a.Billing}, Source: src}
	return e
}

// run plans and applies one run with perCall latency and measures it.
func (e *env) run(b *testing.B, perCall time.Duration) result {
	b.Helper()
	e.perCall = perCall
	e.emu.do(b, command{Op: "latency", PerCall: perCall})
	ctx := context.Background()
	runtime.GC()
	resetPeakRSS()
	e.hist.take()
	start := time.Now()
	p, err := e.syncer.Plan(ctx, e.org)
	if err != nil {
		b.Fatal(err)
	}
	planned := time.Now()
	run, err := e.syncer.Apply(ctx, e.org, p)
	if err != nil {
		b.Fatal(err)
	}
	if run.Status != adsync.StatusSucceeded {
		b.Fatalf("run %s: %s %+v", run.Status, run.Error, run.Counts)
	}
	r := result{run: run, planWall: planned.Sub(start), applyWall: time.Since(planned)}
	r.wall = r.planWall + r.applyWall
	r.readDir, r.readContacts = e.reads.get(adsync.PhaseReadDirectory), e.reads.get(adsync.PhaseReadContacts)
	r.rss = peakRSS()
	r.save, r.load = e.hist.take()
	st := e.emu.do(b, command{Op: "stats"})
	r.calls, r.emuRSS = st.Calls, st.PeakRSS
	for _, n := range st.Calls {
		r.total += n
	}
	if st.Rejected > 0 {
		b.Errorf("%d calls refused by the thread limit", st.Rejected)
	}
	// The bounds, from the run's own counts.
	reads := (e.contacts + adsync.MaxPageSize - 1) / adsync.MaxPageSize
	if reads == 0 {
		reads = 1 // an empty company still takes one query to find so
	}
	writes := run.Counts.Writes()
	if e.org.Config.BillingProductID != 0 {
		writes += run.Counts.Created // the association of each create
	}
	r.boundCalls = reads + writes + constantCalls
	readWall := (time.Duration(reads)*e.perCall + time.Duration(e.contacts)*e.perRec) / inFlight
	writeWall := time.Duration(writes) * e.perCall / inFlight
	r.boundWall = readWall + writeWall + constantCalls*e.perCall
	e.contacts = st.Contacts
	return r
}

// report prints one run and reports its metrics.
func report(b *testing.B, name string, users int, r result) {
	b.ReportMetric(r.wall.Seconds(), "wall-s")
	b.ReportMetric(r.wall.Seconds()/r.boundWall.Seconds(), "wall/bound")
	b.ReportMetric(float64(r.total), "calls")
	b.ReportMetric(float64(r.total)/float64(r.boundCalls), "calls/bound")
	b.ReportMetric(float64(r.rss)/(1<<20), "rss-MB")
	b.ReportMetric(float64(r.emuRSS)/(1<<20), "emu-rss-MB")
	b.ReportMetric(r.save.Seconds(), "save-s")
	kinds := make([]string, 0, len(r.calls))
	for k := range r.calls {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var sb strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&sb, "\n    %7d %s", r.calls[k], k)
	}
	c := r.run.Counts
	b.Logf("%d users, %s run: wall %.1f s (plan %.1f s: directory read %.1f s, contacts read %.1f s; apply %.1f s), bound %.1f s (×%.2f); calls %d, bound %d (×%.3f); "+
		"RSS %d MB (emulators %d MB); history save %.2f s, load %.2f s; counts: created %d linked %d (as is %d) updated %d "+
		"deactivated %d unchanged %d conflicts %d skipped %d; calls by kind:%s",
		users, name, r.wall.Seconds(), r.planWall.Seconds(), r.readDir.Seconds(), r.readContacts.Seconds(), r.applyWall.Seconds(), r.boundWall.Seconds(),
		r.wall.Seconds()/r.boundWall.Seconds(), r.total, r.boundCalls, float64(r.total)/float64(r.boundCalls),
		r.rss>>20, r.emuRSS>>20, r.save.Seconds(), r.load.Seconds(), c.Created, c.Linked, c.LinkedAsIs, c.Updated,
		c.Deactivated, c.Unchanged, c.Conflicts, c.Skipped, sb.String())
	// Budget hours at Autotask's 10,000 calls an hour, stopping at 90 %.
	b.ReportMetric(math.Round(float64(r.total)/(autotask.DocumentedHourlyLimit*autotask.DefaultBudgetStop)*100)/100, "budget-h")
}

// BenchmarkEndToEnd runs one organization through a first run, a daily
// run (1 % changed, 0.5 % new, 0.2 % leaving) and a run without change,
// at each size of E2EBENCH_SIZES. Each sub-benchmark is one run (the runs
// depend on each other, so b.N is not used to repeat them).
func BenchmarkEndToEnd(b *testing.B) {
	first, steady, perRec := latencies(b)
	b.Logf("latency: %v per call in the first run, %v in the others, %v per record; %d in flight per endpoint; GOMAXPROCS %d; change log %s",
		first, steady, perRec, inFlight, runtime.GOMAXPROCS(0), map[bool]string{false: "on", true: "off (E2EBENCH_LOG)"}[logOff(b)])
	for _, n := range sizes(b) {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			// A tenth of the users have a contact already (matched by
			// email), the others are created with the billing product.
			e := newEnv(b, n, n/10, graphSource)
			// The runs depend on each other: each is made once, and a
			// sub-benchmark called again (larger b.N) reports it again.
			done := map[string]result{}
			names := []string{"first", "daily"}
			for i, n := 2, dailies(b); i <= n; i++ {
				names = append(names, fmt.Sprintf("daily%d", i))
			}
			for _, name := range append(names, "nochange") {
				b.Run(name, func(b *testing.B) {
					r, ok := done[name]
					if !ok {
						if strings.HasPrefix(name, "daily") {
							e.emu.do(b, command{Op: "daily"})
						}
						lat := steady
						if name == "first" {
							lat = first
						}
						r = e.run(b, lat)
						done[name] = r
					}
					report(b, name, n, r)
				})
			}
		})
	}
}
