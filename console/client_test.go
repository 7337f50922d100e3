package console_test

import (
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/console"
	"github.com/psasync/adsync/internal/testio"
)

// server is a console on an httptest server, with the log it wrote.
type server struct {
	*httptest.Server
	c   *console.Console
	log *syncBuffer
}

type syncBuffer = testio.SyncBuffer

// serve starts the fixture's console; edit adjusts the options.
func serve(t testing.TB, f *fixture, edit func(*console.Options)) *server {
	t.Helper()
	buf := &syncBuffer{}
	sc, err := adsync.NewScheduler(f.syncer, f.orgs, nil) // not run: for the next due times
	require.NoError(t, err)
	o := console.Options{Syncer: f.syncer, Orgs: console.StaticOrgs(f.orgs), Contacts: f.store, Scheduler: sc,
		Auth:   console.Auth{Password: adminPassword},
		Logger: slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if edit != nil {
		edit(&o)
	}
	c, err := console.New(o)
	require.NoError(t, err)
	mux := http.NewServeMux()
	if o.Prefix == "" {
		mux.Handle("/", c)
	} else {
		mux.Handle(o.Prefix+"/", c)
	}
	s := &server{Server: httptest.NewServer(mux), c: c, log: buf}
	t.Cleanup(func() {
		s.Close()
		c.Wait()
		if t.Failed() {
			t.Logf("console log:\n%s", buf.String())
		}
	})
	return s
}

// client is a browser without JavaScript: a cookie jar, and the CSRF token
// of the last page it read.
type client struct {
	t    testing.TB
	hc   *http.Client
	base string
	csrf string
	// pages are every page body read, for the no-secret check.
	pages *[]string
}

func (s *server) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	hc := s.Client()
	hc.Jar = jar
	return &client{t: t, hc: hc, base: s.URL, pages: new([]string)}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) read(resp *http.Response, err error) (int, string) {
	c.t.Helper()
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	body := string(b)
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		c.csrf = m[1]
	}
	*c.pages = append(*c.pages, body)
	return resp.StatusCode, body
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	return c.read(c.hc.Get(c.base + path))
}

// post submits a form with the CSRF token of the last page read.
func (c *client) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	return c.read(c.hc.PostForm(c.base+path, form))
}

// signedIn is the usual start of a test: the fixture, its console with
// the default options, and a client signed in to it.
func signedIn(t *testing.T) (*fixture, *server, *client) {
	t.Helper()
	f := newFixture(t)
	s := serve(t, f, nil)
	c := s.client(t)
	c.login()
	return f, s, c
}

// login signs in with the fixture's password.
func (c *client) login() {
	c.t.Helper()
	c.get("/login")
	code, body := c.post("/login", url.Values{"username": {"admin"}, "password": {adminPassword}})
	require.Equal(c.t, http.StatusOK, code, body)
	require.Contains(c.t, body, "<h1>Organizations</h1>")
}

// text strips tags, for assertions on what a page says.
func text(page string) string {
	s := regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(page, " ")
	return html.UnescapeString(strings.Join(strings.Fields(s), " "))
}
