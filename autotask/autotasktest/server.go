package autotasktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultIntegrationCode = "ADSYNC-EMULATOR-CODE"
	DefaultUsername        = "api-user@example.com"
	DefaultThreadLimit     = 3
	DefaultHourlyLimit     = 10_000
)

// ThreadLimitMessage is the text of a thread-limit rejection (§5.2).
const ThreadLimitMessage = "Thread Threshold Exceeded — The Autotask API thread threshold of 3 threads has been exceeded. (Itgenatr005)"

// UnexpectedErrorMessage is the text of Autotask's generic server error
// (§5.3), for Fault.Errors.
const UnexpectedErrorMessage = "An unexpected error has occurred. Please contact Autotask support and reference Error ID: 1166"

// UnknownUserMessage is the answer to a zone lookup or a call for a user
// name Autotask does not know (§1.2).
const UnknownUserMessage = "Zone information could not be determined"

// Options configure a Server. The zero value is a faithful default.
type Options struct {
	// IntegrationCode, Username and Secret are the credentials the server
	// accepts. Defaults: DefaultIntegrationCode, DefaultUsername and a random
	// secret (see Server.Credentials).
	IntegrationCode string
	Username        string
	Secret          string
	// UnknownUserStatus is the status of a zone lookup for an unknown user:
	// sources disagree (§1.2); default 500.
	UnknownUserStatus int
	// ThreadLimit is the number of concurrent requests allowed per
	// (integration code, endpoint) (§5.2); default 3, negative for none.
	ThreadLimit int
	// ThreadLimitStatus is the status of a thread-limit rejection: Autotask
	// does not always use 429 (§5.2); default 429.
	ThreadLimitStatus int
	// HourlyLimit is the request threshold per rolling hour (§5.1); default
	// 10,000.
	HourlyLimit int
	// TimeScale multiplies the latency Autotask adds as usage climbs
	// (0.5 s past 50 %, 1 s past 75 %, §5.1); 0 means 1. Tests use a small
	// value such as 0.001.
	TimeScale float64
	// OmitEmptyUDF omits userDefinedFields when a record has none, as the
	// docs say; by default [] is sent, as observed (§2.5).
	OmitEmptyUDF bool
	// Countries replaces the default country list (DefaultCountries).
	Countries []Country
	// Seed seeds the random source of error rates (0: a fixed seed).
	Seed uint64
	// Latency is the response time the emulator adds to every
	// authenticated request; the zero value adds none (tests answer at
	// once). RealisticLatency returns the figures of a real tenant.
	Latency Latency
}

// Latency is a model of Autotask's response time: a fixed cost per call
// and a cost per record a query returns. It is a response time, not a
// delay added to the emulator's own work: a request is answered when its
// response time has passed since it took its thread slot, or when the
// emulator is done if that takes longer. The emulator shares the client's
// CPUs, where Autotask's servers do not; counting its work on top would
// charge the client for it. The time is spent while the request holds its
// thread slot (§5.2), so that with 3 requests in flight per endpoint the
// wall time of a run is what it would be against Autotask. A write
// commits before its answer waits, as at a server whose answer is still
// on its way: a client that gives up while it waits finds the write done.
type Latency struct {
	// PerCall is added to every authenticated request.
	PerCall time.Duration
	// PerRecord is added per record a query page returns (not for counts).
	PerRecord time.Duration
}

// RealisticLatency is the model for benchmarks at Autotask's pace:
// 200 ms per call and 1 ms per returned record, so a full page of 500
// contacts takes 0.7 s. Autotask publishes no response times; these are
// estimates for a client in the same region as its zone: a round trip of
// a few tens of milliseconds, TLS kept alive, and the server's work on a
// single-entity write or read in the low hundreds of milliseconds, as
// integrators commonly report, with the size of a query's answer (each
// record serialized with all its fields) growing with the records it
// holds. At 3 calls in flight 200 ms allows 54,000 calls an hour, so the
// hourly budget of 10,000, not the latency, bounds a large first run, as
// it does against Autotask. The added delays of a busy budget (0.5 s past
// 50 %, 1 s past 75 %, scaled by TimeScale) come on top.
func RealisticLatency() Latency {
	return Latency{PerCall: 200 * time.Millisecond, PerRecord: time.Millisecond}
}

// Credentials are what a client sends in the ApiIntegrationCode, UserName
// and Secret headers.
type Credentials struct {
	IntegrationCode string
	Username        string
	Secret          string
}

// String redacts the secret.
func (c Credentials) String() string {
	return fmt.Sprintf("{IntegrationCode:%s Username:%s Secret:REDACTED}", c.IntegrationCode, c.Username)
}

// GoString redacts the secret.
func (c Credentials) GoString() string { return "autotasktest.Credentials" + c.String() }

// Request is one entry of the request log.
type Request struct {
	Method   string
	Path     string // the path after the V1.0 root, as sent, e.g. "Contacts/query"
	Endpoint string // the thread-limit bucket, e.g. "Contacts"
	Status   int    // 0 when the response was dropped
	Counted  bool   // counted against the hourly threshold
	Body     string
	Time     time.Time
}

// Fault is a scripted failure of the next matching requests. A fault
// either answers instead of serving the request (Status, Drop, EmptyPage),
// or, with AfterWrite, Truncate or NoItemID, serves it first (a write
// commits) and then spoils the answer: the outcomes a client cannot see.
// Delay and CommitDelay combine with any of them.
type Fault struct {
	// Method and Path select requests: Method exactly (empty: any), Path a
	// case-insensitive substring of the path after V1.0 (empty: any).
	Method string
	Path   string
	// Status is the HTTP status to answer with.
	Status int
	// Errors is the errors list of the body; default a generic message.
	Errors []string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Times: the fault applies to the next Times matching requests; 0 =
	// every one, until ClearFaults.
	Times int
	// Drop closes the connection without a response (before any write,
	// unless AfterWrite is set).
	Drop bool
	// AfterWrite serves the request first, so that a write commits, and
	// then answers with Status (a 5xx after the write happened) or, with
	// Drop, closes the connection without an answer (a lost answer).
	AfterWrite bool
	// Truncate serves the request and sends its status, its headers (with
	// the full Content-Length) and only the first half of its body, then
	// closes the connection: a body cut short.
	Truncate bool
	// NoItemID serves a write and answers 200 with {} instead of
	// {"itemId": N}: a create answered without an id.
	NoItemID bool
	// EmptyPage answers a query 200 with no items and no next page, as a
	// restricted API security level can (R-DEACT-5), without serving it.
	EmptyPage bool
	// Delay holds the answer this long first (or until the client gives
	// up): with a client timeout shorter than Delay, the answer is lost.
	Delay time.Duration
	// CommitDelay hides a contact the request creates from every read
	// (queries, counts, GET by id, PATCH, billing associations) until the
	// emulator's clock is CommitDelay past the create (Advance moves the
	// clock): a create Autotask commits late. A look-up right after the
	// create does not find it. Inspection (Contact, Contacts, ContactCount)
	// sees it at once.
	CommitDelay time.Duration
}

// spoils reports whether the fault serves the request and changes its
// answer, rather than answering instead of it.
func (f *Fault) spoils() bool { return f.AfterWrite || f.Truncate || f.NoItemID }

// Server is an in-process emulator of the Autotask REST API.
type Server struct {
	hs    *httptest.Server
	opts  Options
	creds Credentials

	mu         sync.Mutex
	companies  *table
	contacts   *table
	countries  *table
	billing    *table
	products   map[int64]string
	byCompany  map[int64][]record
	byContact  map[int64][]record // billing associations by contactID
	zone       int
	offset     time.Duration
	hits       []time.Time // counted requests in the rolling hour, oldest first
	inflight   map[string]int
	maxFlight  map[string]int
	faults     []*Fault
	errRate    float64
	errStatus  int
	latency    time.Duration
	model      Latency // Options.Latency, or SetLatencyModel's
	dropWrites int
	rng        *mrand.Rand
	log        []*Request
	rejected   int
	// pending holds the contacts created under a CommitDelay fault: id →
	// the emulator time they become visible.
	pending map[int64]time.Time
	// randRate and randFaults are SetRandomFaults'.
	randRate   float64
	randFaults []Fault
	done       chan struct{} // closed by Close: held answers are let go
	conns      int           // connections opened
}

// NewServer starts an emulator over plain HTTP on 127.0.0.1. Close it when
// done.
func NewServer(opts Options) *Server { return start(opts, false) }

// NewTLSServer starts an emulator over HTTPS on 127.0.0.1 with a
// self-signed certificate that Client trusts, as Autotask is only reached
// over HTTPS. Close it when done.
func NewTLSServer(opts Options) *Server { return start(opts, true) }

func start(opts Options, tls bool) *Server {
	if opts.IntegrationCode == "" {
		opts.IntegrationCode = DefaultIntegrationCode
	}
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.Secret == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		opts.Secret = "emu-" + hex.EncodeToString(b)
	}
	if opts.UnknownUserStatus == 0 {
		opts.UnknownUserStatus = http.StatusInternalServerError
	}
	if opts.ThreadLimit == 0 {
		opts.ThreadLimit = DefaultThreadLimit
	}
	if opts.ThreadLimitStatus == 0 {
		opts.ThreadLimitStatus = http.StatusTooManyRequests
	}
	if opts.HourlyLimit == 0 {
		opts.HourlyLimit = DefaultHourlyLimit
	}
	if opts.TimeScale == 0 {
		opts.TimeScale = 1
	}
	if opts.Countries == nil {
		opts.Countries = DefaultCountries()
	}
	s := &Server{
		opts:      opts,
		model:     opts.Latency,
		creds:     Credentials{opts.IntegrationCode, opts.Username, opts.Secret},
		companies: newTable("Company", "Companies", companyFields, 0),
		contacts:  newTable("Contact", "Contacts", contactFields, 30_684_000),
		billing:   newTable("ContactBillingProductAssociation", "ContactBillingProductAssociations", billingFields, 1),
		products:  map[int64]string{},
		byCompany: map[int64][]record{},
		byContact: map[int64][]record{},
		zone:      1,
		inflight:  map[string]int{},
		maxFlight: map[string]int{},
		rng:       mrand.New(mrand.NewPCG(opts.Seed, 1)),
		pending:   map[int64]time.Time{},
		done:      make(chan struct{}),
	}
	s.SetCountries(opts.Countries)
	// Company 0 is the tenant's own company (§2.3).
	s.AddCompany("Root Company")
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.hs.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
		}
	}
	if tls {
		s.hs.StartTLS()
	} else {
		s.hs.Start()
	}
	return s
}

// Connections is the number of connections clients opened so far. Each is
// a TCP (and, with NewTLSServer, a TLS) handshake a client that keeps its
// connections would not make.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Close shuts the server down; answers held by a Delay are let go first.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.mu.Unlock()
	s.hs.Close()
}

// URL is the server's root, e.g. "http://127.0.0.1:41234". A client's
// zone-lookup root is URL()+"/atservicesrest/".
func (s *Server) URL() string { return s.hs.URL }

// ZoneLookupURL is the root a client calls zoneInformation on, standing in
// for https://webservices.autotask.net/atservicesrest/.
func (s *Server) ZoneLookupURL() string { return s.hs.URL + "/atservicesrest/" }

// BaseURL is the REST root of the current zone, ending in "/ATServicesRest/",
// as zoneInformation returns it (§1.2).
func (s *Server) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.zoneURL()
}

func (s *Server) zoneURL() string {
	return s.hs.URL + "/zone" + strconv.Itoa(s.zone) + "/ATServicesRest/"
}

// Client returns an *http.Client for the server: for a TLS server it trusts
// the server's certificate.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// Credentials returns the credentials the server accepts.
func (s *Server) Credentials() Credentials { return s.creds }

// now is the emulator's clock: the wall clock moved by Advance.
func (s *Server) now() time.Time { return time.Now().Add(s.offset).UTC().Truncate(time.Millisecond) }

// Advance moves the emulator's clock forward, e.g. to let the rolling hour
// of the request threshold pass in a test.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// AddUsage counts n requests in the rolling hour as if other integrations
// of the same database had made them now.
func (s *Server) AddUsage(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.now()
	for range n {
		s.hits = append(s.hits, t)
	}
}

// MoveZone moves the tenant to another zone: zoneInformation returns a new
// URL and requests to the old zone are answered 401 (§1.2, §7).
func (s *Server) MoveZone() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zone++
}

// InjectFault adds a fault. Faults are tried in the order added; the first
// that matches a request answers it (see Fault.Times).
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault, the random ones (SetErrorRate,
// SetRandomFaults) and the pending DropResponseAfterWrite included.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.errRate, s.randRate, s.randFaults, s.dropWrites = nil, 0, 0, nil, 0
}

// SetErrorRate makes a share (0–1) of authenticated requests fail at random
// with status (503 when 0). Rate 0 turns it off.
func (s *Server) SetErrorRate(rate float64, status int) {
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errRate, s.errStatus = rate, status
}

// SetRandomFaults makes a share (0–1) of authenticated requests fail with
// one of faults, chosen at random among those whose Method and Path match
// the request (their Times is ignored). The choice is drawn from the
// random source seeded by Options.Seed, so a run that sends the same
// requests in the same order meets the same faults. Rate 0 turns it off.
// A soak test mixes lost answers, late commits, 5xx after the write,
// truncated bodies and empty pages this way.
func (s *Server) SetRandomFaults(rate float64, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.randRate, s.randFaults = rate, append([]Fault(nil), faults...)
}

// SetLatency adds d to every authenticated request, while it holds its
// thread slot (so that concurrency shows), before the request is handled.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// modelPerRecord is the model's cost per record.
func (s *Server) modelPerRecord() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.model.PerRecord
}

// SetLatencyModel replaces the response-time model (Options.Latency) for
// the requests that come after.
func (s *Server) SetLatencyModel(l Latency) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.model = l
}

// DropResponseAfterWrite makes the next n successful writes (POST, PATCH,
// PUT) commit and then close the connection without a response.
func (s *Server) DropResponseAfterWrite(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropWrites += n
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		out[i] = *r
	}
	return out
}

// ResetRequests clears the request log and the concurrency high-water marks.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
	s.maxFlight = map[string]int{}
	s.rejected = 0
}

// CountRequests returns the number of logged requests with the method
// (empty: any) whose path contains pathPart case-insensitively.
func (s *Server) CountRequests(method, pathPart string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if (method == "" || r.Method == method) && strings.Contains(strings.ToLower(r.Path), strings.ToLower(pathPart)) {
			n++
		}
	}
	return n
}

// MaxConcurrent is the highest number of requests seen in flight at once on
// an endpoint ("Contacts", "Countries", ...) since the last ResetRequests.
func (s *Server) MaxConcurrent(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFlight[endpoint]
}

// ThreadRejections is the number of requests refused by the thread limit.
func (s *Server) ThreadRejections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// RollingHourCount is the number of requests counted in the last hour.
func (s *Server) RollingHourCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rollingCount()
}

func (s *Server) rollingCount() int {
	cut := s.now().Add(-time.Hour)
	i := 0
	for i < len(s.hits) && !s.hits[i].After(cut) {
		i++
	}
	s.hits = s.hits[i:]
	return len(s.hits)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"errors":["emulator: `+err.Error()+`"]}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeErrors writes Autotask's error body (§5.3).
func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, errorsBody(msgs...))
}

// errorsBody is Autotask's error body, {"errors": [...]}.
func errorsBody(msgs ...string) map[string]any { return map[string]any{"errors": msgs} }

// writeMethodNotAllowed writes the ASP.NET-style 405 (§5.3).
func writeMethodNotAllowed(w http.ResponseWriter, method string) {
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{
		"Message": "The requested resource does not support http method '" + method + "'."})
}

func writeNoRoute(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]string{
		"Message": "No HTTP resource was found that matches the request URI '" + r.URL.String() + "'."})
}

// endpoint is the thread-limit bucket of a route: contact traffic on the
// child route Companies/{id}/Contacts shares the Contacts bucket (§5.2 [I]).
func endpoint(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	switch strings.ToLower(segs[0]) {
	case "contacts":
		if len(segs) >= 3 && strings.EqualFold(segs[2], "billingproductassociations") {
			return "ContactBillingProductAssociations"
		}
		return "Contacts"
	case "companies":
		if len(segs) >= 3 && strings.EqualFold(segs[2], "contacts") {
			return "Contacts"
		}
		return "Companies"
	case "countries":
		return "Countries"
	case "thresholdinformation":
		return "ThresholdInformation"
	case "contactbillingproductassociations":
		return "ContactBillingProductAssociations"
	}
	return segs[0]
}

// serveHTTP routes a request: /[zoneN/]atservicesrest/v1.0/<path>,
// case-insensitively (§1.3, §7).
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(path, "/")
	zone := 0
	if len(parts) > 0 && strings.HasPrefix(strings.ToLower(parts[0]), "zone") {
		zone, _ = strconv.Atoi(parts[0][4:])
		parts = parts[1:]
	}
	if len(parts) < 2 || !strings.EqualFold(parts[0], "atservicesrest") {
		writeNoRoute(w, r)
		return
	}
	if strings.EqualFold(parts[1], "versioninformation") {
		writeJSON(w, http.StatusOK, map[string]any{"apiVersions": []string{"1.0"}})
		return
	}
	if !strings.EqualFold(parts[1], "v1.0") || len(parts) < 3 {
		writeNoRoute(w, r)
		return
	}
	segs := parts[2:]
	if strings.EqualFold(segs[0], "zoneinformation") {
		s.serveZone(w, r)
		return
	}
	if strings.EqualFold(segs[0], "versioninformation") {
		writeJSON(w, http.StatusOK, map[string]any{"apiVersions": []string{"1.0"}})
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	base := s.hs.URL + "/" + strings.Join(parts[:1], "") + "/"
	if zone > 0 {
		base = s.hs.URL + "/zone" + strconv.Itoa(zone) + "/ATServicesRest/"
	}
	ep := endpoint(segs)
	// The entry is logged before the request is handled, so that a client
	// whose connection was dropped already finds it in the log.
	entry := &Request{Method: r.Method, Path: strings.Join(segs, "/"), Endpoint: ep, Body: string(body)}
	rec := &statusRecorder{ResponseWriter: w}
	s.mu.Lock()
	entry.Time = s.now()
	s.log = append(s.log, entry)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		entry.Status = rec.status
		s.mu.Unlock()
	}()

	if !s.authenticate(rec, r, zone) {
		return
	}
	// Thread limit (§5.2): a request past the limit is refused, not queued.
	s.mu.Lock()
	s.inflight[ep]++
	if n := s.inflight[ep]; s.opts.ThreadLimit > 0 && n > s.opts.ThreadLimit {
		s.inflight[ep]--
		s.rejected++
		s.mu.Unlock()
		writeErrors(rec, s.opts.ThreadLimitStatus, ThreadLimitMessage)
		return
	}
	s.maxFlight[ep] = max(s.maxFlight[ep], s.inflight[ep])
	// Request threshold (§5.1): counted, refused past the limit, slowed
	// past 50 % and 75 %.
	used := s.rollingCount()
	if used >= s.opts.HourlyLimit {
		s.inflight[ep]--
		s.mu.Unlock()
		writeErrors(rec, http.StatusTooManyRequests, fmt.Sprintf(
			"The API request threshold of %d requests per 60 minutes has been exceeded; API access is suspended until usage drops below the threshold.", s.opts.HourlyLimit))
		return
	}
	s.hits = append(s.hits, s.now())
	entry.Counted = true
	model := s.model
	delay := s.latency
	switch share := float64(used+1) / float64(s.opts.HourlyLimit); {
	case share > 0.75:
		delay += time.Duration(float64(time.Second) * s.opts.TimeScale)
	case share > 0.5:
		delay += time.Duration(float64(500*time.Millisecond) * s.opts.TimeScale)
	}
	fault := s.takeFault(r.Method, entry.Path)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight[ep]--
		s.mu.Unlock()
	}()
	if fault != nil {
		// A fault's timing is scripted against the request's arrival:
		// the model's time is spent before it, as a delay.
		delay += fault.Delay + model.PerCall
	}
	start := time.Now()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			if fault == nil || !fault.spoils() {
				return
			}
			// A write the client gave up on still commits.
		case <-s.done:
		}
	}
	if fault == nil {
		if model == (Latency{}) {
			s.route(rec, r, segs, body, base)
			return
		}
		s.answerAt(rec, r, start, model, segs, body, base)
		return
	}
	s.serveFault(rec, r, fault, segs, body, base)
}

// recordsKey carries, to a query, where to count the records it returns,
// for the model's cost per record (answerAt).
type recordsKey struct{}

// answerAt handles a request into a buffer and sends the answer once the
// model's response time has passed since start: the emulator's own work
// is part of that time, not added to it.
func (s *Server) answerAt(rec *statusRecorder, r *http.Request, start time.Time, model Latency, segs []string, body []byte, base string) {
	records := new(int)
	r = r.WithContext(context.WithValue(r.Context(), recordsKey{}, records))
	buf := &bufferedAnswer{header: http.Header{}}
	s.route(buf, r, segs, body, base)
	if wait := time.Until(start.Add(model.PerCall + time.Duration(*records)*model.PerRecord)); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return // the client gave up; a write is done all the same
		case <-s.done:
		}
	}
	buf.copyTo(rec)
}

// serveFault answers a request with a fault.
func (s *Server) serveFault(rec *statusRecorder, r *http.Request, fault *Fault, segs []string, body []byte, base string) {
	if fault.CommitDelay > 0 {
		r = r.WithContext(context.WithValue(r.Context(), commitDelayKey{}, fault.CommitDelay))
	}
	if !fault.spoils() {
		switch {
		case fault.Drop:
			dropConnection(rec)
		case fault.EmptyPage:
			writeJSON(rec, http.StatusOK, map[string]any{"items": []any{}, "pageDetails": map[string]any{
				"count": 0, "requestCount": 500, "prevPageUrl": nil, "nextPageUrl": nil}})
		case fault.Status != 0:
			writeFault(rec, fault)
		default:
			s.route(rec, r, segs, body, base) // CommitDelay or Delay alone
		}
		return
	}
	// Serve into a buffer, then spoil the answer.
	buf := &bufferedAnswer{header: http.Header{}}
	s.route(buf, r, segs, body, base)
	switch {
	case fault.Truncate:
		for k, v := range buf.header {
			rec.Header()[k] = v
		}
		rec.Header().Set("Content-Length", strconv.Itoa(buf.body.Len()))
		rec.WriteHeader(buf.status())
		_, _ = rec.Write(buf.body.Bytes()[:buf.body.Len()/2])
		if f, ok := rec.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // closes the connection mid-body
	case fault.Drop:
		dropConnection(rec)
	case fault.NoItemID && buf.status() == http.StatusOK:
		writeJSON(rec, http.StatusOK, map[string]any{})
	case fault.Status != 0:
		writeFault(rec, fault)
	default:
		buf.copyTo(rec)
	}
}

// writeFault writes a fault's status, Retry-After and errors.
func writeFault(w http.ResponseWriter, fault *Fault) {
	if fault.RetryAfter != "" {
		w.Header().Set("Retry-After", fault.RetryAfter)
	}
	msgs := fault.Errors
	if len(msgs) == 0 {
		msgs = []string{fmt.Sprintf("emulator: injected HTTP %d", fault.Status)}
	}
	writeErrors(w, fault.Status, msgs...)
}

// commitDelayKey carries a fault's CommitDelay to the create it delays.
type commitDelayKey struct{}

// bufferedAnswer is an http.ResponseWriter that keeps the answer.
type bufferedAnswer struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedAnswer) Header() http.Header         { return b.header }
func (b *bufferedAnswer) WriteHeader(code int)        { b.code = code }
func (b *bufferedAnswer) Write(p []byte) (int, error) { return b.body.Write(p) }

func (b *bufferedAnswer) status() int {
	if b.code == 0 {
		return http.StatusOK
	}
	return b.code
}

func (b *bufferedAnswer) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status())
	_, _ = w.Write(b.body.Bytes())
}

// takeFault returns the scripted or random fault for a request, if any.
// s.mu is held.
func (s *Server) takeFault(method, path string) *Fault {
	for i, f := range s.faults {
		if (f.Method == "" || strings.EqualFold(f.Method, method)) &&
			strings.Contains(strings.ToLower(path), strings.ToLower(f.Path)) {
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					s.faults = append(s.faults[:i], s.faults[i+1:]...)
				}
			}
			return f
		}
	}
	if s.errRate > 0 && s.rng.Float64() < s.errRate {
		return &Fault{Status: s.errStatus}
	}
	if s.randRate > 0 && s.rng.Float64() < s.randRate {
		var match []int
		for i := range s.randFaults {
			f := &s.randFaults[i]
			if (f.Method == "" || strings.EqualFold(f.Method, method)) &&
				strings.Contains(strings.ToLower(path), strings.ToLower(f.Path)) {
				match = append(match, i)
			}
		}
		if len(match) > 0 {
			f := s.randFaults[match[s.rng.IntN(len(match))]]
			return &f
		}
	}
	return nil
}

// authenticate checks the three headers (§1.1): a wrong secret gives 401,
// an unknown user or integration code 500; the old zone after MoveZone 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, zone int) bool {
	user := r.Header.Get("UserName")
	code := r.Header.Get("ApiIntegrationCode")
	secret := r.Header.Get("Secret")
	switch {
	case !strings.EqualFold(user, s.creds.Username):
		writeErrors(w, http.StatusInternalServerError, UnknownUserMessage)
		return false
	case code != s.creds.IntegrationCode:
		writeErrors(w, http.StatusInternalServerError, "The API integration code (ApiIntegrationCode) is not valid or is inactive.")
		return false
	case secret != s.creds.Secret:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"Message": "Authorization has been denied for this request."})
		return false
	}
	s.mu.Lock()
	cur := s.zone
	s.mu.Unlock()
	if zone > 0 && zone != cur {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"Message": "Authorization has been denied for this request."})
		return false
	}
	return true
}

// serveZone answers zoneInformation without authentication (§1.2).
func (s *Server) serveZone(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if !strings.EqualFold(user, s.creds.Username) {
		writeErrors(w, s.opts.UnknownUserStatus, UnknownUserMessage)
		return
	}
	s.mu.Lock()
	u := s.zoneURL()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"zoneName": "Emulator", "url": u, "webUrl": s.hs.URL + "/", "ci": 4711})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// dropConnection closes the client's connection without a response.
func dropConnection(w http.ResponseWriter) {
	if rec, ok := w.(*statusRecorder); ok {
		w = rec.ResponseWriter
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
