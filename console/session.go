package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"
)

// maxSessions bounds the sessions kept in memory, signed in or not: a
// client making sessions in a loop cannot grow the map without end.
const maxSessions = 10_000

// anonTTL is the life of a session that has not signed in: long enough to
// fill the sign-in form.
const anonTTL = 30 * time.Minute

// session is one browser's state. Sessions live in this process's memory:
// a restart signs everyone out, and replicas do not share them.
type session struct {
	id      string
	csrf    string
	user    string // "" until signed in
	expires time.Time
	flash   string // a message shown once on the next page
}

type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, ttl: ttl, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// get returns the live session with the id, extending a signed-in one.
func (ss *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	now := ss.now()
	if s == nil {
		return nil
	}
	if !now.Before(s.expires) {
		delete(ss.m, id)
		return nil
	}
	if s.user != "" {
		s.expires = now.Add(ss.ttl)
	}
	return s
}

// create starts a session for user ("" for one not signed in yet).
func (ss *sessions) create(user string) *session {
	ttl := anonTTL
	if user != "" {
		ttl = ss.ttl
	}
	s := &session{id: randomToken(), csrf: randomToken(), user: user, expires: ss.now().Add(ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSessions {
		ss.pruneLocked()
	}
	ss.m[s.id] = s
	return s
}

// pruneLocked drops expired sessions, then, if still full, sessions not
// signed in: signed-in administrators are never pushed out by anonymous
// clients.
func (ss *sessions) pruneLocked() {
	now := ss.now()
	for id, s := range ss.m {
		if !now.Before(s.expires) {
			delete(ss.m, id)
		}
	}
	if len(ss.m) < maxSessions {
		return
	}
	for id, s := range ss.m {
		if s.user == "" {
			delete(ss.m, id)
		}
	}
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// takeFlash returns and clears the session's message.
func (ss *sessions) takeFlash(s *session) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

func (ss *sessions) setFlash(s *session, msg string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s.flash = msg
}

// validCSRF compares the form's token with the session's in constant time.
func validCSRF(s *session, token string) bool {
	return s != nil && token != "" && subtle.ConstantTimeCompare([]byte(s.csrf), []byte(token)) == 1
}

// limiter counts failed sign-ins per client address in a fixed window.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	m      map[string]*attempts
}

type attempts struct {
	n     int
	start time.Time
}

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, now: now, m: map[string]*attempts{}}
}

// wait returns how long the address must wait before trying again, 0 if it
// may try now.
func (l *limiter) wait(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.m[addr]
	if a == nil {
		return 0
	}
	now := l.now()
	if end := a.start.Add(l.window); !now.Before(end) {
		delete(l.m, addr)
		return 0
	} else if a.n >= l.max {
		return end.Sub(now)
	}
	return 0
}

// fail records a failed attempt.
func (l *limiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	a := l.m[addr]
	if a == nil || !now.Before(a.start.Add(l.window)) {
		if len(l.m) >= maxSessions {
			for k, v := range l.m {
				if !now.Before(v.start.Add(l.window)) {
					delete(l.m, k)
				}
			}
		}
		a = &attempts{start: now}
		l.m[addr] = a
	}
	a.n++
}

// succeed clears the address's failures.
func (l *limiter) succeed(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, addr)
}

// clientAddr is the request's remote host: the rate limit's key. Behind a
// proxy every client shares the proxy's address, which limits them
// together: safe, if coarse.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
