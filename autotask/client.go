package autotask

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/retry"
)

// Client is an Autotask REST client for contacts. It is safe for
// concurrent use. It implements adsync.ContactStore and its capabilities.
type Client struct {
	cfg     Config
	log     *slog.Logger
	hc      *http.Client
	backoff retry.Backoff
	budget  *budget
	now     func() time.Time

	mu   sync.Mutex
	base string // resolved REST root, ending in "/"
	sems map[string]chan struct{}

	calls atomic.Int64

	countryMu sync.Mutex
	countries []adsync.Country

	// fresh holds the contacts this client created and has not assigned a
	// billing product to: they need no check first (R-FIELD-7).
	freshMu    sync.Mutex
	fresh      map[int64]struct{}
	freshOrder []int64 // oldest first, at most freshCap
}

// New validates cfg and returns a Client. It makes no call: zone discovery
// happens on the first request (Check makes one).
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		cfg:   cfg,
		log:   log,
		hc:    keepIdle(cfg.HTTPClient, cfg.MaxInFlight*endpointBuckets),
		now:   time.Now,
		sems:  map[string]chan struct{}{},
		fresh: map[int64]struct{}{},
		backoff: retry.Backoff{
			Initial: 500 * time.Millisecond, Max: 30 * time.Second, Attempts: cfg.MaxRetries + 1,
		},
	}
	c.budget = &budget{share: cfg.BudgetShare, stop: cfg.BudgetStop, every: cfg.ThresholdEvery, fallback: DocumentedHourlyLimit,
		now: func() time.Time { return c.now() }, sleep: func(ctx context.Context, d time.Duration) error { return c.backoff.Pause(ctx, d) }}
	if cfg.BaseURL != "" {
		c.base, _ = restRoot(cfg.BaseURL) // validated above
	}
	return c, nil
}

// endpointBuckets is the number of thread-limit buckets the client uses:
// Contacts, ContactBillingProductAssociations, Companies, Countries and
// ThresholdInformation (§5.2).
const endpointBuckets = 5

// keepIdle returns hc, or a copy of it whose transport keeps at least n
// idle connections per host. Go's default of 2 is below the requests the
// client keeps in flight, so each burst would close connections and open
// new ones (each a TLS handshake with Autotask). The caller's client and
// transport are left as they are. A transport that is not an
// *http.Transport is used as given.
func keepIdle(hc *http.Client, n int) *http.Client {
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	tr, ok := rt.(*http.Transport)
	if !ok || tr.MaxIdleConnsPerHost >= n {
		return hc
	}
	tr = tr.Clone()
	tr.MaxIdleConnsPerHost = n
	if tr.MaxIdleConns != 0 && tr.MaxIdleConns < n {
		tr.MaxIdleConns = n
	}
	cp := *hc
	cp.Transport = tr
	return &cp
}

// String describes the client without its secret.
func (c *Client) String() string { return "autotask.Client{" + c.cfg.String() + "}" }

// Format prints String for every verb (%v, %+v, %#v, %s, %d, %x, ...):
// no verb prints the fields by reflection (the secret is an adsync.Secret,
// which would show an address at most).
func (c *Client) Format(f fmt.State, verb rune) {
	s := c.String()
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	_, _ = io.WriteString(f, s)
}

// APICalls is the number of HTTP requests sent to Autotask so far, zone
// lookups and retries included. A run counts its own through
// adsync.CountAPICall.
func (c *Client) APICalls() int64 { return c.calls.Load() }

// request is one API call.
type request struct {
	method   string
	path     string // after V1.0/, e.g. "Contacts/query"
	endpoint string // thread-limit bucket
	body     any
	out      any // decoded from a 200 answer
	// idempotent calls are retried after a lost response; a create is not.
	idempotent bool
	// noBudget skips the budget (the ThresholdInformation read itself).
	noBudget bool
	// check marks a read-only check: each attempt is bounded by
	// CheckTimeout, a timeout is not retried, and at most checkAttempts
	// are made.
	check bool
}

// lostResponseError marks a request whose response was lost after it may
// have reached Autotask.
type lostResponseError struct{ err error }

func (e *lostResponseError) Error() string { return "the response was lost: " + detail(e.err) }
func (e *lostResponseError) Unwrap() error { return e.err }

// do sends r with the in-flight limit, the budget, zone re-resolution and
// retries.
func (c *Client) do(ctx context.Context, r *request) error {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return &APIError{Method: r.method, Endpoint: r.path, Messages: []string{"encode the body: " + err.Error()}, Err: err}
		}
	}
	maxAttempts := c.backoff.MaxAttempts()
	if r.check {
		maxAttempts = min(maxAttempts, checkAttempts)
	}
	rezoned := false
	for attempt := 1; ; attempt++ {
		if !r.noBudget {
			if err := c.admit(ctx); err != nil {
				return err
			}
		}
		base, err := c.baseURL(ctx)
		if err != nil {
			return err
		}
		sendCtx, cancel := ctx, context.CancelFunc(func() {})
		if r.check {
			sendCtx, cancel = context.WithTimeout(ctx, c.cfg.CheckTimeout)
		}
		status, body, hdr, err := c.send(sendCtx, base, r, payload)
		cancel()
		var retryAfter time.Duration
		var apiErr *APIError
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return &APIError{Method: r.method, Endpoint: r.path, Err: ctx.Err()}
			}
			if r.check && (errors.Is(sendCtx.Err(), context.DeadlineExceeded) || isTimeout(err)) {
				return c.checkTimeoutError(r.method, r.path, attempt, c.apiHost(base), c.apiHostHint())
			}
			if tf := tlsFailure(err); tf != "" { // the handshake failed: nothing was sent
				return tlsError(r.method, r.path, base, tf)
			}
			if !notSent(err) && !r.idempotent {
				return &lostResponseError{err: err}
			}
			apiErr = &APIError{Method: r.method, Endpoint: r.path, Kind: adsync.ErrUnavailable,
				Messages: []string{unreachable(c.apiHost(base), err)}, Hint: c.apiHostHint(), Err: err}
		case status == http.StatusOK:
			if r.out == nil {
				return nil
			}
			if err := json.Unmarshal(body, r.out); err != nil {
				e := &APIError{Method: r.method, Endpoint: r.path, Status: status, Kind: adsync.ErrUnavailable,
					Hint: fmt.Sprintf("the answer is not the JSON Autotask sends (%v): check autotask.baseUrl", err)}
				if !r.idempotent {
					// The write was accepted; what it made is unknown.
					return &lostResponseError{err: e}
				}
				return e
			}
			return nil
		default:
			apiErr = classify(r.method, r.path, status, body, hdr.Get("Content-Type"))
			retryAfter = parseRetryAfter(hdr.Get("Retry-After"), c.now())
			if status == http.StatusUnauthorized && !rezoned && c.cfg.BaseURL == "" {
				// The tenant may have moved zone: re-resolve once (§1.2).
				rezoned = true
				if moved, zerr := c.rezone(ctx, base); zerr == nil && moved {
					attempt--
					continue
				}
			}
			if !r.idempotent && status >= 500 && errors.Is(apiErr, adsync.ErrUnavailable) {
				// A gateway may answer 502, 503 or 504, and Autotask its
				// "unexpected error" 500, after the server committed the
				// write: the caller looks before anything else (§5.4,
				// R-RUN-7). Validation 500s and thread-limit rejections
				// were not executed and are told apart above.
				return &lostResponseError{err: apiErr}
			}
			if !c.retryable(r, status, apiErr) {
				return apiErr
			}
		}
		if attempt >= maxAttempts {
			apiErr.Hint = strings.TrimSpace(apiErr.Hint + fmt.Sprintf(" (gave up after %d attempts)", attempt))
			return apiErr
		}
		wait := c.backoff.Wait(attempt, retryAfter)
		c.logRetry(ctx, apiErr, attempt, maxAttempts, wait)
		if err := c.backoff.Pause(ctx, wait); err != nil {
			return &APIError{Method: r.method, Endpoint: r.path, Messages: []string{"waiting to retry"}, Err: err}
		}
	}
}

// retryable: 429 and thread-limit rejections always (Autotask refused the
// call before doing anything); 502, 503, 504 and "unexpected error" 500s
// only for idempotent calls (do hands them back to a create's caller as
// lost). Validation errors and other 500s never (§5.4).
func (c *Client) retryable(r *request, status int, e *APIError) bool {
	switch {
	case errors.Is(e, adsync.ErrRateLimited):
		return true
	case status == http.StatusServiceUnavailable:
		return true
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return r.idempotent
	case status == http.StatusInternalServerError && errors.Is(e, adsync.ErrUnavailable):
		// "An unexpected error has occurred": safe to repeat a read.
		return r.idempotent
	}
	return false
}

// notSent reports a transport error that happened before the request could
// reach the server: retrying it cannot duplicate anything.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// isTimeout reports a transport timeout (the HTTP client's own included).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// logRetry logs a retry: the failed attempt's cause (attribute err) and
// the delay before the next one.
func (c *Client) logRetry(ctx context.Context, e *APIError, attempt, maxAttempts int, wait time.Duration) {
	attrs := []slog.Attr{slog.String("method", e.Method), slog.String("path", e.Endpoint),
		slog.Int("attempt", attempt), slog.Int("maxAttempts", maxAttempts), slog.Duration("delay", wait)}
	if e.Status != 0 {
		attrs = append(attrs, slog.Int("status", e.Status))
	}
	attrs = append(attrs, slog.String("err", e.detail()))
	c.log.LogAttrs(ctx, slog.LevelWarn, "autotask: retrying", attrs...)
}

// checkTimeoutError is the error of a read-only check that got no answer
// from host (a description such as "the zone lookup host H") within
// CheckTimeout: ErrUnavailable, not retried.
func (c *Client) checkTimeoutError(method, endpoint string, attempt int, host, hint string) error {
	return &APIError{Method: method, Endpoint: endpoint, Kind: adsync.ErrUnavailable, noAnswer: true,
		Messages: []string{fmt.Sprintf("%s accepts connections but gave no answer within %v (attempt %d, not retried)", host, c.cfg.CheckTimeout, attempt)},
		Hint:     hint + ", or raise autotask.checkTimeout"}
}

// zoneHint says what to check when the zone lookup cannot be reached.
const zoneHint = "check the network or autotask.zoneLookupUrl (default " + DefaultZoneLookupURL + ")"

// zoneHost describes the zone lookup's host for messages.
func (c *Client) zoneHost() string { return "the zone lookup host " + hostOf(c.cfg.ZoneLookupURL) }

// apiHost describes the REST root's host for messages: configured
// (BaseURL) or named by the zone lookup.
func (c *Client) apiHost(base string) string {
	if c.cfg.BaseURL != "" {
		return "the API host " + hostOf(base)
	}
	return "the zone's API host " + hostOf(base)
}

// apiHostHint says what to check when the REST root cannot be reached.
func (c *Client) apiHostHint() string {
	if c.cfg.BaseURL != "" {
		return "check the network or autotask.baseUrl"
	}
	return "check the network (the zone lookup named this host)"
}

// unreachable says why a request to host (described, e.g. "the zone
// lookup host webservices.autotask.net") got no answer: its name
// could not be resolved, the connection was refused, timed out, or failed
// otherwise (the transport's text, without query strings).
func unreachable(host string, err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return host + " could not be resolved (DNS)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return host + " refused the connection"
	case isTimeout(err):
		return host + " did not answer in time"
	}
	return host + " could not be reached: " + redactURL(err.Error())
}

// hostOf is the host[:port] of a URL, or the URL itself.
func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		return u.Host
	}
	return rawURL
}

// redactURL keeps transport errors free of query strings.
func redactURL(s string) string {
	if i := strings.Index(s, "?"); i >= 0 {
		if j := strings.IndexAny(s[i:], "\": "); j > 0 {
			return s[:i] + s[i+j:]
		}
	}
	return s
}

// admit runs the budget before a call, reading ThresholdInformation when due.
func (c *Client) admit(ctx context.Context) error {
	if c.budget.needRefresh() {
		t, err := c.readThreshold(ctx)
		if err != nil {
			c.budget.refreshFailed()
			var ae *APIError
			if errors.Is(err, adsync.ErrUnauthorized) || errors.Is(err, adsync.ErrTLS) || ctx.Err() != nil ||
				errors.As(err, &ae) && (ae.noAnswer || // the call itself would wait as long in vain
					strings.HasPrefix(ae.Endpoint, zoneEndpoint)) { // and would need the zone too
				return err
			}
			used, limit, own := c.budget.state()
			if own {
				c.log.LogAttrs(ctx, slog.LevelWarn, "autotask: cannot read ThresholdInformation; pacing from this client's own count of calls against Autotask's documented hourly limit (other integrations' use unknown)",
					slog.Int("ownCallsLastHour", used), slog.Int("assumedLimit", limit), slog.Int("retryAfterCalls", c.cfg.ThresholdEvery),
					slog.String("err", detail(err)))
			} else {
				c.log.LogAttrs(ctx, slog.LevelWarn, "autotask: cannot read ThresholdInformation; going on from the last reading plus this client's calls since",
					slog.Int("used", used), slog.Int("limit", limit), slog.Int("retryAfterCalls", c.cfg.ThresholdEvery),
					slog.String("err", detail(err)))
			}
		} else {
			c.log.LogAttrs(ctx, slog.LevelDebug, "autotask: request threshold", slog.Int("used", t.Used), slog.Int("limit", t.Limit))
		}
	}
	return c.budget.admit(ctx, func(used, limit int, own bool) {
		msg := "autotask: hourly request budget past its share; slowing down"
		if own {
			msg = "autotask: this client's own count of calls is past the budget share of Autotask's documented hourly limit; slowing down"
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, msg,
			slog.Int("used", used), slog.Int("limit", limit), slog.Float64("share", c.cfg.BudgetShare))
	})
}

// sem returns the in-flight semaphore of an endpoint.
func (c *Client) sem(endpoint string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sems[endpoint]
	if !ok {
		s = make(chan struct{}, c.cfg.MaxInFlight)
		c.sems[endpoint] = s
	}
	return s
}

// send makes one HTTP request and reads the whole answer.
func (c *Client) send(ctx context.Context, base string, r *request, payload []byte) (int, []byte, http.Header, error) {
	sem := c.sem(r.endpoint)
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, nil, ctx.Err()
	}
	defer func() { <-sem }()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, base+"V1.0/"+r.path, body)
	if err != nil {
		return 0, nil, nil, err
	}
	c.setAuth(req)
	if c.cfg.ImpersonationResourceID != 0 {
		req.Header.Set("ImpersonationResourceId", strconv.FormatInt(c.cfg.ImpersonationResourceID, 10))
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.calls.Add(1)
	c.budget.record()
	adsync.CountAPICall(ctx)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, b, resp.Header, nil
}

// setAuth sets the three authentication headers (§1.1).
func (c *Client) setAuth(req *http.Request) {
	req.Header.Set("ApiIntegrationCode", c.cfg.IntegrationCode)
	req.Header.Set("UserName", c.cfg.Username)
	req.Header.Set("Secret", c.cfg.Secret.Reveal())
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// zoneEndpoint is the zone lookup's route, the Endpoint of its errors.
const zoneEndpoint = "zoneInformation"

// zoneInfo is the zoneInformation answer (§1.2).
type zoneInfo struct {
	ZoneName string `json:"zoneName"`
	URL      string `json:"url"`
}

// baseURL returns the REST root, resolving the zone on first use.
func (c *Client) baseURL(ctx context.Context) (string, error) {
	c.mu.Lock()
	base := c.base
	c.mu.Unlock()
	if base != "" {
		return base, nil
	}
	return c.resolveZone(ctx)
}

// rezone resolves the zone again after a 401 and reports whether it moved.
func (c *Client) rezone(ctx context.Context, old string) (bool, error) {
	c.mu.Lock()
	if c.base == old {
		c.base = ""
	}
	c.mu.Unlock()
	base, err := c.resolveZone(ctx)
	if err != nil {
		return false, err
	}
	if base != old {
		c.log.LogAttrs(ctx, slog.LevelInfo, "autotask: zone changed", slog.String("url", base))
	}
	return base != old, nil
}

func (c *Client) resolveZone(ctx context.Context) (string, error) {
	lookup := strings.TrimRight(c.cfg.ZoneLookupURL, "/") + "/v1.0/zoneInformation?user=" + url.QueryEscape(c.cfg.Username)
	endpoint := zoneEndpoint + "?user=" + c.cfg.Username
	fail := func(status int, msgs []string, hint string, kind error) *APIError {
		return &APIError{Method: http.MethodGet, Endpoint: endpoint,
			Status: status, Messages: msgs, Hint: hint, Kind: kind}
	}
	var lastErr *APIError
	maxAttempts := min(c.backoff.MaxAttempts(), checkAttempts)
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 {
			wait := c.backoff.Wait(attempt-1, 0)
			c.logRetry(ctx, lastErr, attempt-1, maxAttempts, wait)
			if err := c.backoff.Pause(ctx, wait); err != nil {
				return "", &APIError{Method: http.MethodGet, Endpoint: endpoint, Messages: []string{"waiting to retry"}, Err: err}
			}
		}
		actx, cancel := context.WithTimeout(ctx, c.cfg.CheckTimeout)
		resp, body, err := c.zoneLookup(actx, lookup)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return "", &APIError{Method: http.MethodGet, Endpoint: endpoint, Err: ctx.Err()}
			}
			if errors.Is(actx.Err(), context.DeadlineExceeded) || isTimeout(err) {
				return "", c.checkTimeoutError(http.MethodGet, endpoint, attempt, c.zoneHost(), zoneHint)
			}
			if tf := tlsFailure(err); tf != "" {
				return "", tlsError(http.MethodGet, endpoint, c.cfg.ZoneLookupURL, tf)
			}
			lastErr = fail(0, []string{unreachable(c.zoneHost(), err)}, zoneHint, adsync.ErrUnavailable)
			lastErr.Err = err
			continue
		}
		if resp.StatusCode == http.StatusOK {
			var zi zoneInfo
			if json.Unmarshal(body, &zi) != nil || zi.URL == "" {
				return "", fail(resp.StatusCode, nil, "the zone lookup did not answer like Autotask: check autotask.zoneLookupUrl (default "+DefaultZoneLookupURL+")", adsync.ErrUnavailable)
			}
			base, err := restRoot(zi.URL)
			if err != nil {
				return "", fail(resp.StatusCode, nil, "zoneInformation returned an unusable url: "+err.Error(), adsync.ErrUnavailable)
			}
			c.mu.Lock()
			c.base = base
			c.mu.Unlock()
			c.log.LogAttrs(ctx, slog.LevelDebug, "autotask: zone resolved", slog.String("zone", zi.ZoneName), slog.String("url", base))
			return base, nil
		}
		msgs, isJSON := messages(body)
		if !isJSON {
			return "", fail(resp.StatusCode, nil, "the zone lookup did not answer like Autotask: check autotask.zoneLookupUrl (default "+DefaultZoneLookupURL+")", adsync.ErrUnavailable)
		}
		if unknownUser(msgs) || (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusInternalServerError) && len(msgs) > 0 {
			return "", fail(resp.StatusCode, msgs, fmt.Sprintf("Autotask does not know the user name %q: check autotask.username (the API-only user's login, e.g. api-sync@yourmsp.com)", c.cfg.Username), adsync.ErrUnauthorized)
		}
		lastErr = classify(http.MethodGet, zoneEndpoint, resp.StatusCode, body, resp.Header.Get("Content-Type"))
		if s := resp.StatusCode; s != http.StatusTooManyRequests && s < 502 {
			return "", lastErr
		}
	}
	return "", lastErr
}

// zoneLookup makes one zoneInformation request and reads the answer.
func (c *Client) zoneLookup(ctx context.Context, lookup string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, lookup, nil)
	if err != nil {
		return nil, nil, err
	}
	// The contract marks the integration headers required on every
	// operation, zoneInformation included (§1.1); Autotask answers without
	// them too (§1.2).
	c.setAuth(req)
	req.Header.Set("Accept", "application/json")
	c.calls.Add(1)
	adsync.CountAPICall(ctx)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}
