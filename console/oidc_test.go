package console_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync/console"
)

// idp is a tiny OpenID Connect provider: go-oidc's test server for
// discovery and keys, plus a token endpoint that signs an ID token for the
// nonce of the last authorization request.
type idp struct {
	*httptest.Server
	key *rsa.PrivateKey

	mu       sync.Mutex
	nonce    string // from the last authorization URL
	user     string
	verifier string // the PKCE verifier the token request carried
	secret   string // the client secret the token request carried
}

func newIDP(t *testing.T) *idp {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p := &idp{key: key, user: "tech@msp.example"}
	ts := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k1", Algorithm: oidc.RS256}}}
	mux := http.NewServeMux()
	mux.Handle("/", ts)
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		_, secret, _ := r.BasicAuth()
		if secret == "" {
			secret = r.PostForm.Get("client_secret")
		}
		p.mu.Lock()
		p.verifier, p.secret = r.PostForm.Get("code_verifier"), secret
		claims := fmt.Sprintf(`{"iss":%q,"aud":"console-app","sub":"s-1","exp":%d,"iat":%d,"nonce":%q,"preferred_username":%q,"email":%q}`,
			p.URL, time.Now().Add(time.Hour).Unix(), time.Now().Unix(), p.nonce, p.user, p.user)
		p.mu.Unlock()
		tok := oidctest.SignIDToken(key, "k1", oidc.RS256, claims)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": tok})
	})
	p.Server = httptest.NewServer(mux)
	ts.SetIssuer(p.URL)
	t.Cleanup(p.Close)
	return p
}

func TestOIDCSignIn(t *testing.T) {
	f := newFixture(t)
	p := newIDP(t)
	const secret = "oidc-secret-7c6b5a"
	s := serve(t, f, func(o *console.Options) {
		o.Auth = console.Auth{OIDC: &console.OIDCConfig{Issuer: p.URL, ClientID: "console-app", ClientSecret: secret,
			RedirectURL: "http://127.0.0.1/oidc/callback", AllowedUsers: []string{"TECH@msp.example"}}}
	})
	start := func(c *client) url.Values {
		t.Helper()
		c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		_, body := c.get("/login")
		assert.Contains(t, body, "Sign in with Microsoft")
		assert.NotContains(t, body, `name="password"`, "no password configured")
		resp, err := c.hc.Get(s.URL + "/login/oidc?next=/org/northwind")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		assert.Equal(t, p.URL+"/auth", loc.Scheme+"://"+loc.Host+loc.Path)
		q := loc.Query()
		assert.Equal(t, "console-app", q.Get("client_id"))
		assert.Equal(t, "S256", q.Get("code_challenge_method"))
		assert.NotContains(t, loc.String(), secret)
		p.mu.Lock()
		p.nonce = q.Get("nonce")
		p.mu.Unlock()
		return q
	}

	t.Run("signed in", func(t *testing.T) {
		c := s.client(t)
		q := start(c)
		code, body := c.get("/oidc/callback?code=c0de&state=" + url.QueryEscape(q.Get("state")))
		require.Equal(t, http.StatusOK, code, body)
		assert.Contains(t, body, `http-equiv="refresh"`)
		assert.Contains(t, body, "/org/northwind")
		p.mu.Lock()
		assert.NotEmpty(t, p.verifier, "PKCE")
		assert.Equal(t, secret, p.secret)
		p.mu.Unlock()
		code, body = c.get("/org/northwind")
		require.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, "Signed in as tech@msp.example")
		assert.NotContains(t, s.log.String(), secret)
	})
	t.Run("state from another browser", func(t *testing.T) {
		c := s.client(t)
		q := start(c)
		other := s.client(t)
		code, body := other.get("/oidc/callback?code=c0de&state=" + url.QueryEscape(q.Get("state")))
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Contains(t, text(body), "not started from this browser")
	})
	t.Run("replayed state", func(t *testing.T) {
		c := s.client(t)
		q := start(c)
		cb := "/oidc/callback?code=c0de&state=" + url.QueryEscape(q.Get("state"))
		code, _ := c.get(cb)
		require.Equal(t, http.StatusOK, code)
		code, _ = c.get(cb)
		assert.Equal(t, http.StatusUnauthorized, code)
	})
	t.Run("nonce mismatch", func(t *testing.T) {
		c := s.client(t)
		q := start(c)
		p.mu.Lock()
		p.nonce = "another"
		p.mu.Unlock()
		code, _ := c.get("/oidc/callback?code=c0de&state=" + url.QueryEscape(q.Get("state")))
		assert.Equal(t, http.StatusUnauthorized, code)
	})
	t.Run("account not allowed", func(t *testing.T) {
		p.mu.Lock()
		p.user = "someone@else.example"
		p.mu.Unlock()
		defer func() { p.mu.Lock(); p.user = "tech@msp.example"; p.mu.Unlock() }()
		c := s.client(t)
		q := start(c)
		code, body := c.get("/oidc/callback?code=c0de&state=" + url.QueryEscape(q.Get("state")))
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Contains(t, text(body), "someone@else.example is not allowed")
		resp, err := c.hc.Get(s.URL + "/")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, "/login?next=%2F", resp.Header.Get("Location"), "not signed in")
	})
}
