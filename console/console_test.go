package console_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/console"
)

func TestOptionsValidate(t *testing.T) {
	f := newFixture(t)
	ok := func() console.Options {
		return console.Options{Syncer: f.syncer, Orgs: console.StaticOrgs(f.orgs), Auth: console.Auth{Password: adminPassword}}
	}
	oidc := func() *console.OIDCConfig {
		return &console.OIDCConfig{Issuer: "https://login.microsoftonline.com/t/v2.0", ClientID: "c", ClientSecret: "s3cr3t-value",
			RedirectURL: "https://adsync.example.com/oidc/callback"}
	}
	tests := []struct {
		name  string
		edit  func(*console.Options)
		field string
	}{
		{"no syncer", func(o *console.Options) { o.Syncer = nil }, "Syncer"},
		{"no orgs", func(o *console.Options) { o.Orgs = nil }, "Orgs"},
		{"no auth", func(o *console.Options) { o.Auth = console.Auth{} }, "Auth"},
		{"no auth and a password", func(o *console.Options) { o.Auth.NoAuth = true }, "Auth.NoAuth"},
		{"hash and password", func(o *console.Options) { o.Auth.PasswordHash = "$2a$10$x" }, "Auth.Password"},
		{"password in the hash field", func(o *console.Options) { o.Auth = console.Auth{PasswordHash: adminPassword} }, "Auth.PasswordHash"},
		{"short password", func(o *console.Options) { o.Auth.Password = "short" }, "Auth.Password"},
		{"prefix without slash", func(o *console.Options) { o.Prefix = "console" }, "Prefix"},
		{"prefix with trailing slash", func(o *console.Options) { o.Prefix = "/console/" }, "Prefix"},
		{"negative ttl", func(o *console.Options) { o.Auth.SessionTTL = -1 }, "Auth.SessionTTL"},
		{"oidc without issuer", func(o *console.Options) { o.Auth.OIDC = oidc(); o.Auth.OIDC.Issuer = "" }, "Auth.OIDC.Issuer"},
		{"oidc plain http issuer", func(o *console.Options) { o.Auth.OIDC = oidc(); o.Auth.OIDC.Issuer = "http://idp.example.com" }, "Auth.OIDC.Issuer"},
		{"oidc without client id", func(o *console.Options) { o.Auth.OIDC = oidc(); o.Auth.OIDC.ClientID = "" }, "Auth.OIDC.ClientID"},
		{"oidc without secret", func(o *console.Options) { o.Auth.OIDC = oidc(); o.Auth.OIDC.ClientSecret = "" }, "Auth.OIDC.ClientSecret"},
		{"oidc wrong callback", func(o *console.Options) {
			o.Auth.OIDC = oidc()
			o.Auth.OIDC.RedirectURL = "https://adsync.example.com/callback"
		}, "Auth.OIDC.RedirectURL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok()
			tc.edit(&o)
			_, err := console.New(o)
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.NotContains(t, err.Error(), adminPassword)
			assert.NotContains(t, err.Error(), "s3cr3t-value")
		})
	}
	t.Run("valid", func(t *testing.T) {
		o := ok()
		o.Auth.OIDC = oidc()
		_, err := console.New(o)
		require.NoError(t, err)
		js, err := json.Marshal(struct{ Auth console.Auth }{o.Auth})
		require.NoError(t, err)
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "auth", o.Auth)
		for _, shown := range []string{o.Auth.String(), fmt.Sprintf("%v %+v %#v", o.Auth, o.Auth, o.Auth), string(js), logged.String()} {
			assert.NotContains(t, shown, "s3cr3t-value")
			assert.NotContains(t, shown, adminPassword)
		}
	})
}

func TestCheckListen(t *testing.T) {
	tests := []struct {
		addr string
		auth bool
		ok   bool
	}{
		{"127.0.0.1:8080", false, true},
		{"[::1]:8080", false, true},
		{"localhost:8080", false, true},
		{"0.0.0.0:8080", false, false},
		{":8080", false, false},
		{"192.0.2.10:8080", false, false},
		{"0.0.0.0:8080", true, true},
		{":8080", true, true},
		{"127.0.0.1", false, false}, // no port
	}
	for _, tc := range tests {
		t.Run(tc.addr+"/"+strconv.FormatBool(tc.auth), func(t *testing.T) {
			err := console.CheckListen(tc.addr, tc.auth)
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			if strings.Contains(tc.addr, ":8080") {
				assert.ErrorIs(t, err, console.ErrUnsafeListen)
				assert.Contains(t, err.Error(), "configure an admin password or OIDC sign-in")
			}
		})
	}
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	hash, err := bcrypt.GenerateFromPassword([]byte(adminPassword), bcrypt.MinCost)
	require.NoError(t, err)
	for name, auth := range map[string]console.Auth{"password": {Password: adminPassword}, "hash": {PasswordHash: string(hash)}} {
		t.Run(name, func(t *testing.T) {
			s := serve(t, f, func(o *console.Options) { o.Auth = auth })
			c := s.client(t)
			code, body := c.get("/org/northwind")
			require.Equal(t, http.StatusOK, code)
			assert.Contains(t, body, "<h1>Sign in</h1>", "a page needs a session")

			code, body = c.post("/login", url.Values{"username": {"admin"}, "password": {"wrong password!"}})
			assert.Equal(t, http.StatusUnauthorized, code)
			assert.Contains(t, body, "The name or the password is wrong.")

			code, body = c.post("/login", url.Values{"username": {"admin"}, "password": {adminPassword}, "next": {"/org/northwind"}})
			require.Equal(t, http.StatusOK, code)
			assert.Contains(t, body, "Northwind Traders", "back to the page asked for")

			c.post("/logout", nil)
			_, body = c.get("/")
			assert.Contains(t, body, "<h1>Sign in</h1>", "signed out")
		})
	}
	t.Run("next stays in the console", func(t *testing.T) {
		s := serve(t, f, nil)
		c := s.client(t)
		c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		c.get("/login")
		resp, err := c.hc.PostForm(s.URL+"/login", url.Values{"csrf": {c.csrf}, "username": {"admin"}, "password": {adminPassword},
			"next": {"//evil.example/"}})
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, "/", resp.Header.Get("Location"))
	})
}

func TestSignInRateLimited(t *testing.T) {
	f := newFixture(t)
	clock := &fakeClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	s := serve(t, f, func(o *console.Options) { o.Now = clock.Now; o.Auth.LoginAttempts = 3 })
	c := s.client(t)
	c.get("/login")
	for range 3 {
		code, _ := c.post("/login", url.Values{"username": {"admin"}, "password": {"guess"}})
		require.Equal(t, http.StatusUnauthorized, code)
	}
	code, body := c.post("/login", url.Values{"username": {"admin"}, "password": {adminPassword}})
	assert.Equal(t, http.StatusTooManyRequests, code, "even the right password waits")
	assert.Contains(t, body, "Too many failed sign-in attempts")
	clock.Advance(console.DefaultLoginWindow)
	code, body = c.post("/login", url.Values{"username": {"admin"}, "password": {adminPassword}})
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "<h1>Organizations</h1>")
}

func TestCSRF(t *testing.T) {
	f, s, c := signedIn(t)
	runs := func() int {
		rs, err := f.hist.Runs(context.Background(), "northwind", 0)
		require.NoError(t, err)
		return len(rs)
	}
	before := runs()
	for name, token := range map[string][]string{"missing": nil, "wrong": {"not-the-token"}, "empty": {""}} {
		t.Run(name, func(t *testing.T) {
			form := url.Values{}
			if token != nil {
				form["csrf"] = token
			} else {
				form["csrf"] = nil
				delete(form, "csrf")
				form.Set("x", "1")
			}
			resp, err := c.hc.PostForm(s.URL+"/org/northwind/sync", form)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}
	t.Run("cross-site", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/org/northwind/sync", strings.NewReader(url.Values{"csrf": {c.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := c.hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
	t.Run("logout", func(t *testing.T) {
		resp, err := c.hc.PostForm(s.URL+"/logout", url.Values{})
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
	t.Run("login", func(t *testing.T) {
		c2 := s.client(t)
		c2.get("/login")
		code, _ := c2.post("/login", url.Values{"csrf": {"forged"}, "username": {"admin"}, "password": {adminPassword}})
		assert.Equal(t, http.StatusForbidden, code)
	})
	assert.Equal(t, before, runs(), "no refused request ran anything")
}

func TestSecurityHeaders(t *testing.T) {
	_, s, c := signedIn(t)
	for _, path := range []string{"/", "/login", "/org/northwind", "/org/northwind/conflicts", "/org/nope", "/static/console.css"} {
		t.Run(path, func(t *testing.T) {
			resp, err := c.hc.Get(s.URL + path)
			require.NoError(t, err)
			resp.Body.Close()
			h := resp.Header
			csp := h.Get("Content-Security-Policy")
			assert.Contains(t, csp, "default-src 'none'")
			assert.Contains(t, csp, "frame-ancestors 'none'")
			assert.NotContains(t, csp, "unsafe-inline")
			assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
			assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
			if path != "/static/console.css" {
				assert.Equal(t, "no-store", h.Get("Cache-Control"))
			}
		})
	}
}

func TestSessionCookie(t *testing.T) {
	f := newFixture(t)
	for _, useTLS := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(useTLS), func(t *testing.T) {
			c, err := console.New(console.Options{Syncer: f.syncer, Orgs: console.StaticOrgs(f.orgs), Auth: console.Auth{Password: adminPassword}})
			require.NoError(t, err)
			req := httpRequest(http.MethodGet, "/login")
			if useTLS {
				req.TLS = &tls.ConnectionState{}
			}
			rec := record(c, req)
			cookies := rec.Result().Cookies()
			require.Len(t, cookies, 1)
			ck := cookies[0]
			assert.True(t, ck.HttpOnly)
			assert.Equal(t, http.SameSiteStrictMode, ck.SameSite)
			assert.Equal(t, useTLS, ck.Secure)
			if useTLS {
				assert.NotEmpty(t, rec.Header().Get("Strict-Transport-Security"))
			}
		})
	}
}

func TestOrganizationsPage(t *testing.T) {
	f, _, c := signedIn(t)
	rows := func(body string) []string {
		var ids []string
		for _, m := range regexp.MustCompile(`<th scope="row"><a href="/org/([^"]+)">`).FindAllStringSubmatch(body, -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	_, body := c.get("/")
	assert.Equal(t, []string{"northwind", "contoso", "fabrikam", "tailspin", "adventure"}, rows(body))
	assert.Regexp(t, `<a class="run s-held" href="/org/contoso/run/\d+" title="Run \d+ \(scheduled\) [^"]*: held\. read 25,`, body,
		"the last runs as icons with their summary on hover")
	contoso, err := f.hist.Runs(context.Background(), "contoso", 1)
	require.NoError(t, err)
	assert.Contains(t, body, "<td>"+contoso[0].Started.Add(adsync.DefaultInterval).UTC().Format("2006-01-02 15:04")+"</td>",
		"next due: a day after the last attempt (R-RUN-1)")
	_, body = c.get("/?attention=1")
	assert.Equal(t, []string{"northwind", "contoso", "tailspin", "adventure"}, rows(body), "conflicts, held, failed, TLS")
	assert.Contains(t, body, `<td class="bad">expiring</td>`)
	assert.Contains(t, body, "<td>TLS</td>")
	assert.NotContains(t, body, "<script>alert(1)", "a run's error is escaped in its icon's summary")
	assert.Contains(t, body, "directory down &lt;script&gt;alert(1)&lt;/script&gt;")
	_, body = c.get("/org/tailspin/run/" + strconv.FormatInt(lastRun(t, f, "tailspin"), 10))
	assert.NotContains(t, body, "<script>alert(1)")
	assert.Contains(t, text(body), "directory down <script>alert(1)</script>")
	_, body = c.get("/?q=fab")
	assert.Equal(t, []string{"fabrikam"}, rows(body))
	_, body = c.get("/?q=" + strconv.FormatInt(f.company["contoso"], 10))
	assert.Equal(t, []string{"contoso"}, rows(body))
	_, body = c.get("/?q=nothing-like-it")
	assert.Contains(t, body, "No organization matches.")
	_, body = c.get("/?q=<script>")
	assert.NotContains(t, body, "<script>", "escaped")
}

func TestPreviewAndApply(t *testing.T) {
	f, _, c := signedIn(t)
	f.dirs["northwind"].Add(person("northwind", 50))
	c.get("/org/northwind")
	code, body := c.post("/org/northwind/preview", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "<h1>Preview of Northwind Traders</h1>")
	assert.Contains(t, text(body), "1 to create")
	assert.Contains(t, body, "user050@northwind.example")
	planURL := regexp.MustCompile(`action="(/org/northwind/plan/[^"]+/apply)"`).FindStringSubmatch(body)
	require.NotNil(t, planURL)

	code, body = c.post(planURL[1], nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, text(body), "created 1")

	t.Run("a plan applied twice is stale", func(t *testing.T) {
		code, body := c.post(planURL[1], nil)
		assert.Equal(t, http.StatusConflict, code)
		assert.Contains(t, text(body), "This plan is stale")
	})
	t.Run("a plan made before another run is stale", func(t *testing.T) {
		c.get("/org/northwind")
		_, body := c.post("/org/northwind/preview", nil)
		apply := regexp.MustCompile(`action="(/org/northwind/plan/[^"]+/apply)"`).FindStringSubmatch(body)
		require.NotNil(t, apply)
		code, _ := c.post("/org/northwind/sync", nil)
		require.Equal(t, http.StatusOK, code)
		code, body = c.post(apply[1], nil)
		assert.Equal(t, http.StatusConflict, code)
		assert.Contains(t, text(body), "Preview again")
	})
	t.Run("a newer preview replaces the older", func(t *testing.T) {
		c.get("/org/northwind")
		_, body := c.post("/org/northwind/preview", nil)
		older := regexp.MustCompile(`action="(/org/northwind/plan/[^"]+/apply)"`).FindStringSubmatch(body)
		require.NotNil(t, older)
		c.post("/org/northwind/preview", nil)
		code, body := c.post(older[1], nil)
		assert.Equal(t, http.StatusNotFound, code)
		assert.Contains(t, text(body), "a newer preview or undo of the organization replaced it")
	})
	t.Run("disabled organization", func(t *testing.T) {
		c.get("/org/fabrikam")
		code, body := c.post("/org/fabrikam/preview", nil)
		require.Equal(t, http.StatusOK, code)
		assert.Contains(t, text(body), "5 to create")
		assert.NotContains(t, body, `id="apply"`)
		assert.Contains(t, text(body), "The organization is disabled")
		code, body = c.post("/org/fabrikam/sync", nil)
		assert.Equal(t, http.StatusConflict, code)
		assert.Contains(t, text(body), "The organization is disabled")
	})
}

func TestSyncNow(t *testing.T) {
	f, s, c := signedIn(t)
	c.get("/org/northwind")
	code, body := c.post("/org/northwind/sync", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, text(body), "Sync now: run")
	runs, err := f.hist.Runs(context.Background(), "northwind", 1)
	require.NoError(t, err)
	assert.Equal(t, adsync.TriggerForced, runs[0].Trigger)
	assert.Contains(t, body, `<td>admin</td>`, "who started the run")
	assert.Contains(t, s.log.String(), "user=admin action=\"Sync now\" org=northwind")
}

func TestRunInProgressRefused(t *testing.T) {
	f := newFixture(t)
	gate := &gatedSource{DirectorySource: f.dirs["northwind"], entered: make(chan struct{}), release: make(chan struct{})}
	f.orgs[0].Source = gate
	s := serve(t, f, nil)
	c := s.client(t)
	c.login()
	c.get("/org/northwind")
	done := make(chan struct{})
	go func() {
		defer close(done)
		c2 := *c
		c2.pages = new([]string)
		c2.post("/org/northwind/sync", nil)
	}()
	<-gate.entered
	for _, path := range []string{"/org/northwind/sync", "/org/northwind/approve"} {
		form := url.Values{"run": {"1"}}
		code, body := c.post(path, form)
		assert.Equal(t, http.StatusConflict, code, path)
		assert.Contains(t, text(body), "in progress", path)
	}
	// Undo is refused while a run is going on, and a running run offers none.
	ids := runIDs(t, f, "northwind")
	require.Len(t, ids, 2)
	code, body := c.post("/org/northwind/run/"+strconv.FormatInt(ids[1], 10)+"/undo", nil)
	assert.Equal(t, http.StatusConflict, code)
	assert.Contains(t, text(body), "A run of this organization is in progress")
	_, body = c.get("/org/northwind/run/" + strconv.FormatInt(ids[0], 10))
	assert.Contains(t, text(body), "running")
	assert.NotContains(t, body, `id="undo"`)
	_, body = c.get("/org/northwind")
	assert.Contains(t, body, "A run is in progress")
	assert.Contains(t, body, `data-state="/org/northwind/state"`)
	_, state := c.get("/org/northwind/state")
	assert.JSONEq(t, `{"running":true}`, state)
	close(gate.release)
	<-done
	s.c.Wait()
	_, state = c.get("/org/northwind/state")
	assert.JSONEq(t, `{"running":false}`, state)
}

func TestApproveHeld(t *testing.T) {
	f, _, c := signedIn(t)
	_, body := c.get("/org/contoso")
	held := strings.Index(body, "held 15 deactivations for approval")
	actions := strings.Index(body, `<h2 id="act-h">Actions</h2>`)
	require.Positive(t, held)
	assert.Less(t, held, actions, "the held deactivations come first")
	run := regexp.MustCompile(`name="run" value="(\d+)"`).FindStringSubmatch(body)
	require.NotNil(t, run)
	code, body := c.post("/org/contoso/approve", url.Values{"run": {run[1]}})
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, text(body), "deactivated 15")
	runs, err := f.hist.Runs(context.Background(), "contoso", 1)
	require.NoError(t, err)
	assert.Equal(t, adsync.TriggerApproval, runs[0].Trigger)
	assert.NotContains(t, body, "for approval</h2>")

	code, body = c.post("/org/contoso/approve", url.Values{"run": {strconv.FormatInt(runs[0].ID, 10)}})
	assert.Equal(t, http.StatusConflict, code)
	assert.Contains(t, text(body), "no held deactivations")
}

func TestResolveConflicts(t *testing.T) {
	f, _, c := signedIn(t)
	_, body := c.get("/org/northwind/conflicts")
	assert.Contains(t, text(body), "Open conflicts (3)")
	assert.Contains(t, text(body), "multiple-contacts [R-CONF-3]")
	cand := strconv.FormatInt(f.candidates[0], 10)
	assert.Contains(t, body, "Map to contact "+cand)
	assert.Contains(t, body, "user102@northwind.example", "candidates read from the store")

	code, body := c.post("/org/northwind/resolve", url.Values{"user": {f.multi}, "action": {"link"}, "contact": {cand}})
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, text(body), "Open conflicts (2)")
	assert.Contains(t, text(body), "mapped to contact "+cand)
	rs, err := f.hist.Resolutions(context.Background(), "northwind")
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, "admin", rs[0].By)

	code, body = c.post("/org/northwind/unresolve", url.Values{"user": {f.multi}})
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, text(body), "Open conflicts (3)")

	t.Run("refusals", func(t *testing.T) {
		other := strconv.FormatInt(f.candidates[0]+1000, 10)
		code, body := c.post("/org/northwind/resolve", url.Values{"user": {f.multi}, "action": {"link"}, "contact": {other}})
		assert.Equal(t, http.StatusNotFound, code)
		assert.Contains(t, text(body), "not found")
		code, body = c.post("/org/northwind/resolve", url.Values{"user": {f.multi}, "action": {"link"}, "contact": {"abc"}})
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, text(body), `Contact id "abc" is not a contact id`)
		code, _ = c.post("/org/northwind/unresolve", url.Values{"user": {f.multi}})
		assert.Equal(t, http.StatusNotFound, code)
	})
}

func TestNoSecretInPages(t *testing.T) {
	f := newFixture(t)
	const clientSecret = "oidc-client-secret-9f8e7d"
	s := serve(t, f, func(o *console.Options) {
		o.Auth.OIDC = &console.OIDCConfig{Issuer: "https://login.microsoftonline.com/t/v2.0", ClientID: "app",
			ClientSecret: clientSecret, RedirectURL: "https://adsync.example.com/oidc/callback"}
	})
	c := s.client(t)
	c.get("/login")
	c.post("/login", url.Values{"username": {"admin"}, "password": {adminPassword + "x"}})
	c.login()
	paths := []string{"/", "/?attention=1"}
	for _, o := range f.orgs {
		id := o.Config.ID
		paths = append(paths, "/org/"+id, "/org/"+id+"/conflicts")
		runs, err := f.hist.Runs(context.Background(), id, 0)
		require.NoError(t, err)
		for _, r := range runs {
			paths = append(paths, "/org/"+id+"/run/"+strconv.FormatInt(r.ID, 10))
		}
	}
	for _, p := range paths {
		code, _ := c.get(p)
		assert.Equal(t, http.StatusOK, code, p)
	}
	c.get("/org/northwind")
	_, plan := c.post("/org/northwind/preview", nil)
	if m := regexp.MustCompile(`href="(/org/northwind/plan/[^"]+/text)"`).FindStringSubmatch(plan); assert.NotNil(t, m) {
		c.get(m[1])
	}
	c.get("/org/tailspin")
	c.post("/org/tailspin/sync", nil)
	c.post("/org/northwind/resolve", url.Values{"user": {f.multi}, "action": {"link"}, "contact": {"1"}})
	pages := append(*c.pages, s.log.String())
	require.Greater(t, len(pages), 20)
	for i, p := range pages {
		for _, secret := range []string{autotaskSecret, adminPassword, clientSecret} {
			assert.NotContains(t, p, secret, "page %d", i)
		}
	}
}

func TestPrefix(t *testing.T) {
	f := newFixture(t)
	s := serve(t, f, func(o *console.Options) { o.Prefix = "/console" })
	c := s.client(t)
	c.get("/console/login")
	code, body := c.post("/console/login", url.Values{"username": {"admin"}, "password": {adminPassword}})
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `href="/console/org/northwind"`)
	assert.Contains(t, body, `href="/console/static/console.css"`)
	code, _ = c.get("/console/static/console.css")
	assert.Equal(t, http.StatusOK, code)
	code, body = c.get("/console/org/northwind")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `action="/console/org/northwind/sync"`)
}

func TestNoAuth(t *testing.T) {
	f := newFixture(t)
	s := serve(t, f, func(o *console.Options) { o.Auth = console.Auth{NoAuth: true} })
	c := s.client(t)
	code, body := c.get("/")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "<h1>Organizations</h1>")
	assert.NotContains(t, body, "Sign out")
	resp, err := c.hc.PostForm(s.URL+"/org/northwind/sync", url.Values{})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "CSRF holds without authentication too")
}

func TestNotFound(t *testing.T) {
	_, _, c := signedIn(t)
	for _, p := range []string{"/org/nope", "/org/northwind/run/999", "/org/northwind/run/x", "/org/northwind/plan/zzz", "/nowhere"} {
		code, body := c.get(p)
		assert.Equal(t, http.StatusNotFound, code, p)
		assert.Contains(t, body, `role="alert"`, p)
	}
}

func TestSessionExpires(t *testing.T) {
	f := newFixture(t)
	clock := &fakeClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	s := serve(t, f, func(o *console.Options) { o.Now = clock.Now; o.Auth.SessionTTL = time.Hour })
	c := s.client(t)
	c.login()
	clock.Advance(50 * time.Minute)
	_, body := c.get("/")
	assert.Contains(t, body, "<h1>Organizations</h1>", "still signed in")
	clock.Advance(50 * time.Minute)
	_, body = c.get("/")
	assert.Contains(t, body, "<h1>Organizations</h1>", "activity extends the session")
	clock.Advance(time.Hour)
	_, body = c.get("/")
	assert.Contains(t, body, "<h1>Sign in</h1>", "an hour without activity ends it")
}
