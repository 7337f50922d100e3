package graphtest

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Application permissions the emulator knows (docs/directories.md §A7).
const (
	PermGroupMemberReadAll = "GroupMember.Read.All"
	PermUserReadAll        = "User.Read.All"
	PermGroupReadAll       = "Group.Read.All"
	PermDirectoryReadAll   = "Directory.Read.All"
)

// DefaultDeltaPageSize is how many users a users/delta page holds unless
// SetDeltaPageSize says otherwise (Graph chooses the size itself).
const DefaultDeltaPageSize = 200

// Server is the emulator: an in-memory tenant served over HTTP on
// 127.0.0.1. Create it with NewServer or NewTLSServer and Close it when
// done. Its surface is the one autotasktest's Server has too, after
// net/http/httptest: URL, Client, InjectFault, ClearFaults, Requests. Its
// methods are safe for concurrent use.
type Server struct {
	hs *httptest.Server

	mu        sync.Mutex
	users     map[string]*userRec
	seq       int64
	objects   map[string]*object // groups and other non-user objects
	changes   []string           // user ids, one per change, in order: the delta log
	removed   map[string]string  // deleted user id → @removed reason
	replays   bool               // delta repeats a user once per change
	advanced  bool               // casts need ConsistencyLevel: eventual and $count=true
	epoch     int                // bumped by ExpireDeltaTokens
	expiry    int                // status answered for an expired delta token
	deltaPage int
	perms     map[string]bool
	token     string // required bearer token, "" = any
	issued    map[string]bool
	scopes    []string // scope of each issued token
	faults    []*Fault
	requests  []Request
	apps      map[string]map[string]*app // tenant → client id → app

	// Listings are computed once per state of the tenant, not per page,
	// so that reading a group of n members costs O(n) (issue #14). version
	// counts the changes to users, objects and memberships; the caches
	// below hold for cacheVersion only.
	version      uint64
	cacheVersion uint64
	lists        map[listKey][]string // member ids of a listing
	extraNames   map[string]bool      // lower-case extension property names of all users; nil = not computed
	initial      []string             // user ids by creation order (the initial delta round); nil = not computed
	window       deltaWindow          // the last delta window listed
	listBuilds   int                  // member listings computed, for tests
}

// listKey names a member listing: a group, direct or transitive, every
// member or users only.
type listKey struct {
	group                 string
	transitive, usersOnly bool
}

// deltaWindow is the listing of the changes (since, upto] of a delta round.
type deltaWindow struct {
	since, upto int64
	replays     bool
	ids         []string // nil = none cached
}

type userRec struct {
	u   User
	seq int64 // creation order
}

type app struct {
	secret  string
	cert    *x509.Certificate
	expired bool
}

// Request is one request the emulator served, with the status it answered.
type Request struct {
	Method   string
	Path     string // as received, e.g. "/v1.0/groups/g1/transitiveMembers/graph.user"
	RawQuery string
	Status   int
}

// newTenant returns the emulator's state, not yet listening.
func newTenant() *Server {
	return &Server{
		users:     map[string]*userRec{},
		objects:   map[string]*object{},
		removed:   map[string]string{},
		expiry:    http.StatusGone,
		deltaPage: DefaultDeltaPageSize,
		perms:     map[string]bool{PermGroupMemberReadAll: true, PermUserReadAll: true},
		issued:    map[string]bool{},
		apps:      map[string]map[string]*app{},
	}
}

// NewServer starts an emulator over plain HTTP on 127.0.0.1. Close it when
// done.
func NewServer() *Server { return start(false) }

// NewTLSServer starts an emulator over HTTPS on 127.0.0.1 with a
// self-signed certificate that Client trusts. The token endpoint needs it:
// Microsoft's authentication library accepts only https authorities.
func NewTLSServer() *Server { return start(true) }

func start(tls bool) *Server {
	s := newTenant()
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.hs.Listener = loopback()
	if tls {
		s.hs.StartTLS()
	} else {
		s.hs.Start()
	}
	return s
}

func loopback() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("graphtest: cannot listen on 127.0.0.1: " + err.Error())
	}
	return l
}

// Close shuts the server down.
func (s *Server) Close() { s.hs.Close() }

// URL is the server's root, e.g. "http://127.0.0.1:41234": the token
// endpoint's authority. The Graph API is under GraphURL.
func (s *Server) URL() string { return s.hs.URL }

// GraphURL is the Graph API root, URL()+"/v1.0".
func (s *Server) GraphURL() string { return s.hs.URL + "/v1.0" }

// Client returns an *http.Client for the server: for a TLS server it trusts
// the server's certificate.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// SetPermissions replaces the application permissions the calling app has
// been granted (by default GroupMember.Read.All and User.Read.All). Without
// a group permission, group reads answer 403; without a user permission,
// users/delta answers 403 and group members come back with only their id
// and type (docs/directories.md §A1).
func (s *Server) SetPermissions(perms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perms = map[string]bool{}
	for _, p := range perms {
		s.perms[p] = true
	}
}

// RequireToken makes the Graph endpoints accept only this bearer token (and
// tokens the emulator's token endpoint issued). By default any non-empty
// bearer token is accepted; a request with none always gets 401.
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetDeltaPageSize sets how many users a users/delta page holds.
func (s *Server) SetDeltaPageSize(n int) {
	if n < 1 {
		panic("graphtest: delta page size must be positive")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deltaPage = n
}

// SetDeltaReplays makes users/delta report a user once for each change in
// the round instead of once, as Graph may ("replays", docs/directories.md §A4):
// clients must cope with a user repeated in one round.
func (s *Server) SetDeltaReplays(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replays = on
}

// RequireAdvancedQueryForCast makes the user casts of members and
// transitiveMembers answer 400 Request_UnsupportedQuery unless the request
// is an advanced query (header ConsistencyLevel: eventual and $count=true),
// as older Graph documentation said they need (docs/directories.md §A1).
func (s *Server) RequireAdvancedQueryForCast(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanced = on
}

// Fault is an error the emulator answers instead of serving a request.
type Fault struct {
	// Path selects the requests: those whose path contains it, e.g.
	// "/transitiveMembers" or "/users/delta". Empty: every Graph request
	// (the token endpoint is never faulted).
	Path string
	// Status is the HTTP status, e.g. 429, 503, 403, 404.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header ("0" retries
	// at once).
	RetryAfter string
	// Code and Message make the error body; empty ones get Graph's usual
	// values for the status.
	Code, Message string
	// OmitMessage leaves "message" out of the error body, which makes the
	// Graph SDK's ODataError.Error panic (docs/directories.md §A6).
	OmitMessage bool
	// Times: the fault applies to the next Times matching requests; 0 =
	// every one, until ClearFaults. (autotasktest's Fault.Times means the
	// same.)
	Times int
}

// InjectFault adds a fault. Faults are tried in the order added; the first
// that matches a request answers it.
func (s *Server) InjectFault(f Fault) {
	if f.Status < 400 {
		panic("graphtest: a fault needs an error status (4xx or 5xx)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns the requests served so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// CountRequests returns how many requests whose path contains pathPart
// were served ("" counts all).
func (s *Server) CountRequests(pathPart string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if strings.Contains(r.Path, pathPart) {
			n++
		}
	}
	return n
}

// ResetRequests forgets the requests served so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// changed records a change of users, objects or memberships. Callers hold
// mu.
func (s *Server) changed() { s.version++ }

// fresh drops the cached listings when the tenant changed since they were
// computed. Callers hold mu.
func (s *Server) fresh() {
	if s.cacheVersion == s.version && s.lists != nil {
		return
	}
	s.cacheVersion = s.version
	s.lists = map[listKey][]string{}
	s.extraNames, s.initial, s.window = nil, nil, deltaWindow{}
}

// newID returns a random GUID-shaped object id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// statusRecorder remembers the status written, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// serveHTTP serves the Graph and token endpoints.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Status: rec.status})
		s.mu.Unlock()
	}()
	if !strings.HasPrefix(r.URL.Path, "/v1.0/") {
		s.serveIdentity(rec, r)
		return
	}
	if s.fault(rec, r) {
		return
	}
	if !s.authorized(r) {
		writeError(rec, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.", false)
		return
	}
	if r.Method != http.MethodGet {
		writeError(rec, http.StatusMethodNotAllowed, "Request_BadRequest", "The emulator serves GET requests only.", false)
		return
	}
	s.route(rec, r, strings.Split(strings.TrimPrefix(r.URL.Path, "/v1.0/"), "/"))
}

func (s *Server) fault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	var f *Fault
	for i, c := range s.faults {
		if c.Path != "" && !strings.Contains(r.URL.Path, c.Path) {
			continue
		}
		f = c
		if c.Times > 0 {
			c.Times--
			if c.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		break
	}
	s.mu.Unlock()
	if f == nil {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	code, msg := f.Code, f.Message
	if code == "" || msg == "" {
		dc, dm := defaultError(f.Status)
		if code == "" {
			code = dc
		}
		if msg == "" {
			msg = dm
		}
	}
	writeError(w, f.Status, code, msg, f.OmitMessage)
	return true
}

func defaultError(status int) (code, msg string) {
	switch status {
	case http.StatusTooManyRequests:
		return "TooManyRequests", "Too many requests. Please try again later."
	case http.StatusForbidden:
		return "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
	case http.StatusNotFound:
		return "Request_ResourceNotFound", "Resource does not exist or one of its queried reference-property objects are not present."
	case http.StatusUnauthorized:
		return "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
	case http.StatusServiceUnavailable:
		return "serviceNotAvailable", "The service is temporarily unavailable. Please try again later."
	case http.StatusGatewayTimeout:
		return "UnknownError", "Gateway timeout."
	}
	return "generalException", http.StatusText(status)
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token == "" || tok == s.token || s.issued[tok]
}

// has reports whether one of the permissions is granted. Callers hold mu.
func (s *Server) has(perms ...string) bool {
	for _, p := range perms {
		if s.perms[p] {
			return true
		}
	}
	return false
}

// writeError writes a Graph error body. It always includes "message" unless
// omit is set, because the SDK panics without one (docs/directories.md §A6).
func writeError(w http.ResponseWriter, status int, code, msg string, omit bool) {
	e := map[string]any{"code": code, "innerError": map[string]any{"request-id": newID(), "client-request-id": newID()}}
	if !omit {
		e["message"] = msg
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// jsonContentType is the Content-Type of Graph's JSON answers.
const jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf(format, args...), false)
}

// baseURL is the scheme and host the request reached, for absolute links.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
