package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/psasync/adsync"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// cookieName is the session cookie's name.
const cookieName = "adsync_console"

// contentSecurityPolicy allows the console's own stylesheet and script and
// nothing else: no inline script or style, no framing, forms posting only
// to the console.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Console is the admin console: an http.Handler serving the pages under
// Options.Prefix. Make it with New.
type Console struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	mux      *http.ServeMux
	handler  http.Handler
	pages    map[string]*template.Template
	sessions *sessions
	limiter  *limiter
	oidc     *oidcClient

	mu       sync.Mutex
	jobs     map[string]*job            // organization id → its action in progress or last done
	plans    map[string]*storedPlan     // plan id → a previewed plan or a planned undo
	progress map[string]adsync.Progress // organization id → latest progress
	wg       sync.WaitGroup
}

// job is an action the console started in the background: a sync, an
// approval, or a plan being applied.
type job struct {
	kind    string
	actor   string
	started time.Time
	done    chan struct{}
	run     adsync.Run
	err     error
}

// storedPlan is a previewed plan, or a planned undo, kept so that it can
// be applied as shown.
type storedPlan struct {
	id      string
	orgID   string
	plan    *adsync.Plan
	by      string
	created time.Time
	undoOf  int64 // the run an undo plan undoes; 0 for a preview
}

// maxPlans bounds the previewed plans kept in memory, one per
// organization at most; the oldest go first.
const maxPlans = 10

// planTTL is how long a previewed plan can be applied.
const planTTL = time.Hour

// quickWait is how long an action's request waits for its run: a refusal
// (a run in progress, a stale plan) comes back at once and is shown on
// the spot; a longer run goes on in the background.
const quickWait = 2 * time.Second

// New returns the console, or a *adsync.ConfigError naming the bad option.
// It does no I/O: the OIDC provider is discovered at the first sign-in.
func New(opts Options) (*Console, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Auth.SessionTTL == 0 {
		opts.Auth.SessionTTL = DefaultSessionTTL
	}
	if opts.Auth.LoginAttempts == 0 {
		opts.Auth.LoginAttempts = DefaultLoginAttempts
	}
	if opts.Auth.LoginWindow == 0 {
		opts.Auth.LoginWindow = DefaultLoginWindow
	}
	if opts.Auth.Username == "" {
		opts.Auth.Username = DefaultUsername
	}
	if opts.BaseContext == nil {
		opts.BaseContext = context.Background()
	}
	c := &Console{opts: opts, log: opts.Logger, now: opts.Now,
		jobs: map[string]*job{}, plans: map[string]*storedPlan{},
		progress: map[string]adsync.Progress{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.sessions = newSessions(opts.Auth.SessionTTL, c.now)
	c.limiter = newLimiter(opts.Auth.LoginAttempts, opts.Auth.LoginWindow, c.now)
	if opts.Auth.OIDC != nil {
		c.oidc = newOIDCClient(opts.Auth.OIDC)
	}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func parsePages() (map[string]*template.Template, error) {
	// Files named _*.html hold templates shared by pages (the change log).
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		pages[name] = t
	}
	return pages, nil
}

func (c *Console) routes() {
	p := c.opts.Prefix
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", staticHandler(http.FileServerFS(static))))
	m.HandleFunc("GET "+p+"/login", c.loginPage)
	m.HandleFunc("POST "+p+"/login", c.login)
	m.HandleFunc("GET "+p+"/login/oidc", c.oidcStart)
	m.HandleFunc("GET "+p+"/oidc/callback", c.oidcCallback)
	m.HandleFunc("POST "+p+"/logout", c.authed(c.logout))
	m.HandleFunc("GET "+p+"/{$}", c.authed(c.orgsPage))
	m.HandleFunc("GET "+p+"/org/{org}", c.authed(c.orgPage))
	m.HandleFunc("GET "+p+"/org/{org}/state", c.authed(c.orgState))
	m.HandleFunc("GET "+p+"/org/{org}/run/{run}", c.authed(c.runPage))
	m.HandleFunc("GET "+p+"/org/{org}/changes", c.authed(c.changesPage))
	m.HandleFunc("GET "+p+"/org/{org}/conflicts", c.authed(c.conflictsPage))
	m.HandleFunc("GET "+p+"/org/{org}/plan/{plan}", c.authed(c.planPage))
	m.HandleFunc("GET "+p+"/org/{org}/plan/{plan}/text", c.authed(c.planText))
	m.HandleFunc("POST "+p+"/org/{org}/preview", c.authed(c.preview))
	m.HandleFunc("POST "+p+"/org/{org}/plan/{plan}/apply", c.authed(c.applyPlan))
	m.HandleFunc("POST "+p+"/org/{org}/sync", c.authed(c.syncNow))
	m.HandleFunc("POST "+p+"/org/{org}/approve", c.authed(c.approve))
	m.HandleFunc("POST "+p+"/org/{org}/run/{run}/undo", c.authed(c.undo))
	m.HandleFunc("POST "+p+"/org/{org}/resolve", c.authed(c.resolve))
	m.HandleFunc("POST "+p+"/org/{org}/unresolve", c.authed(c.unresolve))
	if p != "" {
		m.Handle("GET "+p, http.RedirectHandler(p+"/", http.StatusMovedPermanently))
	}
	m.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		c.message(w, r, nil, http.StatusNotFound, "Not found", "There is no page at this address.")
	})
	c.mux = m
	// Cross-origin requests (Sec-Fetch-Site, Origin) are refused on top of
	// the CSRF token, which remains the defence for old browsers.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.message(w, r, nil, http.StatusForbidden, "Refused", "A cross-site request was refused.")
	}))
	c.handler = cop.Handler(m)
}

func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the console's pages, with its security headers on
// every response.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	// Pages show customers' data: never stored by the browser or a proxy.
	// Static assets override it.
	h.Set("Cache-Control", "no-store")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.handler.ServeHTTP(w, r)
}

// RequireSignIn serves h, a handler a host mounts beside the console (its
// /metrics, for example), only to a request of a signed-in console session;
// any other request is answered 401 with a plain-text hint to sign in. It
// makes no session: a scraper polling it fills no session store. Under
// Auth.NoAuth every request is served.
func (c *Console) RequireSignIn(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.opts.Auth.NoAuth {
			var s *session
			if ck, err := r.Cookie(cookieName); err == nil {
				s = c.sessions.get(ck.Value)
			}
			if s == nil || s.user == "" {
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("X-Content-Type-Options", "nosniff")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprintf(w, "%s needs a signed-in session of the adsync console: sign in at %s/login first.\n", r.URL.Path, c.opts.Prefix)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Progress records a run's progress for the organization page. Pass it as
// the Syncer's Options.Progress (or call it from one) to show live progress.
func (c *Console) Progress(p adsync.Progress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.progress[p.OrgID] = p
}

// Wait waits for the runs the console started to finish. A host cancels
// Options.BaseContext, then calls Wait, when it stops.
func (c *Console) Wait() { c.wg.Wait() }

// session returns the request's session, making an anonymous one (and
// setting its cookie) when there is none.
func (c *Console) session(w http.ResponseWriter, r *http.Request) *session {
	if ck, err := r.Cookie(cookieName); err == nil {
		if s := c.sessions.get(ck.Value); s != nil {
			return s
		}
	}
	user := ""
	if c.opts.Auth.NoAuth {
		user = "local"
	}
	s := c.sessions.create(user)
	c.setCookie(w, r, s)
	return s
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, s *session) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.id, Path: c.cookiePath(), HttpOnly: true,
		Secure: r.TLS != nil || c.opts.SecureCookies, SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: c.cookiePath(), MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil || c.opts.SecureCookies, SameSite: http.SameSiteStrictMode})
}

func (c *Console) cookiePath() string { return c.opts.Prefix + "/" }

// authed wraps a handler that needs a signed-in session; a POST also needs
// the session's CSRF token.
func (c *Console) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(w, r)
		if s.user == "" {
			if r.Method == http.MethodGet {
				next := r.URL.Path
				http.Redirect(w, r, c.opts.Prefix+"/login?next="+urlQueryEscape(next), http.StatusSeeOther)
				return
			}
			c.message(w, r, s, http.StatusUnauthorized, "Sign in", "Your session has ended: sign in again.")
			return
		}
		if r.Method == http.MethodPost && !c.checkCSRF(w, r, s) {
			return
		}
		h(w, r, s)
	}
}

// checkCSRF checks the form's CSRF token and answers 403 if it is missing
// or wrong.
func (c *Console) checkCSRF(w http.ResponseWriter, r *http.Request, s *session) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.message(w, r, s, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return false
	}
	if !validCSRF(s, r.PostForm.Get("csrf")) {
		c.log.Warn("console: request without a valid CSRF token refused", "path", r.URL.Path, "addr", clientAddr(r))
		c.message(w, r, s, http.StatusForbidden, "Refused",
			"The form's security token is missing or out of date (CSRF protection). Reload the page and try again.")
		return false
	}
	return true
}

// view is what every page template gets.
type view struct {
	Title  string
	Prefix string
	User   string
	CSRF   string
	NoAuth bool
	Flash  string
	// Refresh: a run is going on and the page reloads itself when it ends.
	Refresh string
	Body    any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, page, title string, body any) {
	v := view{Title: title, Prefix: c.opts.Prefix, NoAuth: c.opts.Auth.NoAuth, Body: body}
	if s != nil {
		v.User, v.CSRF = s.user, s.csrf
		v.Flash = c.sessions.takeFlash(s)
	}
	if rb, ok := body.(interface{ refreshURL() string }); ok {
		v.Refresh = rb.refreshURL()
	}
	var b strings.Builder
	if err := c.pages[page].ExecuteTemplate(&b, "layout", v); err != nil {
		c.log.Error("console: render", "page", page, "error", err)
		http.Error(w, "internal error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

type messageBody struct {
	Heading string
	Text    string
	Back    string // a link back, or ""
	BackTo  string
	Alert   bool
}

// message renders a short page: a refusal, an error, a confirmation.
func (c *Console) message(w http.ResponseWriter, r *http.Request, s *session, status int, heading, text string) {
	c.messageBack(w, r, s, status, heading, text, "", "")
}

func (c *Console) messageBack(w http.ResponseWriter, r *http.Request, s *session, status int, heading, text, back, backTo string) {
	if s == nil {
		if ck, err := r.Cookie(cookieName); err == nil {
			s = c.sessions.get(ck.Value)
		}
	}
	c.render(w, r, s, status, "message", heading, messageBody{Heading: heading, Text: text, Back: back, BackTo: backTo, Alert: status >= 400})
}

// refusal turns an action's error into a status and a message an
// administrator can act on. The library's errors carry no secrets.
func refusal(err error) (int, string) {
	var ce *adsync.ConfigError
	switch {
	case errors.Is(err, adsync.ErrRunInProgress):
		return http.StatusConflict, "A run of this organization is in progress: wait for it to finish, then try again. (" + err.Error() + ")"
	case errors.Is(err, adsync.ErrStalePlan):
		return http.StatusConflict, "This plan is stale: another run was recorded after it was made, and may have made its changes. Preview again (or plan the undo again). (" + err.Error() + ")"
	case errors.Is(err, adsync.ErrOrgDisabled):
		return http.StatusConflict, "The organization is disabled: it is never synced. Enable it in the configuration first. (" + err.Error() + ")"
	case errors.Is(err, adsync.ErrNothingHeld):
		return http.StatusConflict, "That run has no held deactivations to approve. (" + err.Error() + ")"
	case errors.Is(err, adsync.ErrRefused):
		return http.StatusConflict, err.Error()
	case errors.Is(err, adsync.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.As(err, &ce):
		return http.StatusBadRequest, err.Error()
	}
	return http.StatusInternalServerError, err.Error()
}
