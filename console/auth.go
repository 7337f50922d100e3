package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"
)

type loginBody struct {
	Password bool
	OIDC     bool
	OIDCText string
	Next     string
	Error    string
	Username string
}

func (c *Console) loginBody(next string) loginBody {
	b := loginBody{Password: c.opts.Auth.PasswordHash != "" || c.opts.Auth.Password != "", OIDC: c.oidc != nil, Next: safeNext(c.opts.Prefix, next)}
	if c.oidc != nil {
		b.OIDCText = c.opts.Auth.OIDC.ButtonLabel
		if b.OIDCText == "" {
			b.OIDCText = "Sign in with Microsoft"
		}
	}
	return b
}

// safeNext keeps a post-sign-in destination inside the console: never
// another site.
func safeNext(prefix, next string) string {
	if !strings.HasPrefix(next, prefix+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return prefix + "/"
	}
	return next
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	s := c.session(w, r)
	if s.user != "" {
		http.Redirect(w, r, safeNext(c.opts.Prefix, r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, s, http.StatusOK, "login", "Sign in", c.loginBody(r.URL.Query().Get("next")))
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	s := c.session(w, r)
	if !c.checkCSRF(w, r, s) {
		return
	}
	b := c.loginBody(r.PostForm.Get("next"))
	addr := clientAddr(r)
	if wait := c.limiter.wait(addr); wait > 0 {
		c.log.Warn("console: sign-in refused: too many failed attempts", "addr", addr)
		b.Error = fmt.Sprintf("Too many failed sign-in attempts from your address: try again in %s.", wait.Round(time.Second))
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds()+1)))
		c.render(w, r, s, http.StatusTooManyRequests, "login", "Sign in", b)
		return
	}
	if !b.Password {
		c.render(w, r, s, http.StatusBadRequest, "login", "Sign in", b)
		return
	}
	user := r.PostForm.Get("username")
	b.Username = user
	if !c.checkPassword(user, r.PostForm.Get("password")) {
		c.limiter.fail(addr)
		// Neither the name nor the password typed is logged: a password
		// typed in the name field would be.
		c.log.Warn("console: sign-in failed", "addr", addr)
		b.Error = "The name or the password is wrong."
		c.render(w, r, s, http.StatusUnauthorized, "login", "Sign in", b)
		return
	}
	c.limiter.succeed(addr)
	c.signIn(w, r, s, user)
	http.Redirect(w, r, b.Next, http.StatusSeeOther)
}

// checkPassword compares in constant time (bcrypt, or hashes of equal
// length), so that timing tells nothing about the password.
func (c *Console) checkPassword(user, password string) bool {
	a := &c.opts.Auth
	nameOK := subtle.ConstantTimeCompare([]byte(user), []byte(a.Username)) == 1
	var passOK bool
	if a.PasswordHash != "" {
		passOK = bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(password)) == nil
	} else {
		x, y := sha256.Sum256([]byte(password)), sha256.Sum256([]byte(a.Password))
		passOK = subtle.ConstantTimeCompare(x[:], y[:]) == 1
	}
	return nameOK && passOK
}

// signIn replaces the session with a signed-in one: a new id, so that an
// id known before sign-in (session fixation) is worth nothing after.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, old *session, user string) {
	c.sessions.delete(old.id)
	s := c.sessions.create(user)
	c.setCookie(w, r, s)
	c.log.Info("console: signed in", "user", user, "addr", clientAddr(r))
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.delete(s.id)
	c.clearCookie(w, r)
	c.log.Info("console: signed out", "user", s.user)
	if c.opts.Auth.NoAuth {
		http.Redirect(w, r, c.opts.Prefix+"/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, c.opts.Prefix+"/login", http.StatusSeeOther)
}

// oidcClient signs administrators in with an OpenID Connect provider (the
// authorization code flow with PKCE). The provider is discovered at the
// first sign-in, not at start: a service whose provider is briefly
// unreachable still starts.
type oidcClient struct {
	cfg *OIDCConfig

	mu       sync.Mutex
	provider *oidc.Provider
	pending  map[string]*pendingLogin // state → sign-in in progress
}

type pendingLogin struct {
	nonce, verifier, next string
	expires               time.Time
}

// oidcCookie binds a sign-in in progress to the browser that started it.
// It is SameSite=Lax: the provider's redirect back is a cross-site
// navigation, which a Strict cookie would not accompany.
const oidcCookie = "adsync_console_oidc"

// maxPendingLogins bounds the sign-ins in progress kept in memory.
const maxPendingLogins = 1000

func newOIDCClient(cfg *OIDCConfig) *oidcClient {
	return &oidcClient{cfg: cfg, pending: map[string]*pendingLogin{}}
}

func (o *oidcClient) config(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("console: OIDC provider %s: %w", o.cfg.Issuer, err)
		}
		o.provider = p
	}
	return o.provider, &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: o.provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}, nil
}

func (c *Console) oidcStart(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.message(w, r, nil, http.StatusNotFound, "Not found", "Single sign-on is not configured.")
		return
	}
	_, oc, err := c.oidc.config(r.Context())
	if err != nil {
		c.log.Error("console: OIDC sign-in", "error", err)
		c.message(w, r, nil, http.StatusBadGateway, "Sign-in unavailable",
			"The single sign-on provider could not be reached; try again, or sign in with the password.")
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	now := c.now()
	c.oidc.mu.Lock()
	for k, p := range c.oidc.pending {
		if !now.Before(p.expires) || len(c.oidc.pending) >= maxPendingLogins {
			delete(c.oidc.pending, k)
		}
	}
	c.oidc.pending[state] = &pendingLogin{nonce: nonce, verifier: verifier, next: safeNext(c.opts.Prefix, r.URL.Query().Get("next")),
		expires: now.Add(10 * time.Minute)}
	c.oidc.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: state, Path: c.opts.Prefix + "/oidc/", MaxAge: 600, HttpOnly: true,
		Secure: r.TLS != nil || c.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.message(w, r, nil, http.StatusNotFound, "Not found", "Single sign-on is not configured.")
		return
	}
	refuse := func(why string, err error) {
		c.log.Warn("console: OIDC sign-in refused", "reason", why, "error", err, "addr", clientAddr(r))
		c.messageBack(w, r, nil, http.StatusUnauthorized, "Sign-in refused", why, c.opts.Prefix+"/login", "sign in")
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		refuse("The sign-in provider answered: "+e+".", nil)
		return
	}
	state := q.Get("state")
	ck, err := r.Cookie(oidcCookie)
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		refuse("This sign-in was not started from this browser, or took too long: sign in again.", nil)
		return
	}
	c.oidc.mu.Lock()
	p := c.oidc.pending[state]
	delete(c.oidc.pending, state)
	c.oidc.mu.Unlock()
	if p == nil || !c.now().Before(p.expires) {
		refuse("This sign-in took too long: sign in again.", nil)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: c.opts.Prefix + "/oidc/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil || c.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
	prov, oc, err := c.oidc.config(r.Context())
	if err != nil {
		refuse("The single sign-on provider could not be reached.", err)
		return
	}
	tok, err := oc.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		refuse("The sign-in code was refused by the provider.", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		refuse("The provider returned no ID token.", nil)
		return
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: c.opts.Auth.OIDC.ClientID, Now: c.now}).Verify(r.Context(), raw)
	if err != nil {
		refuse("The provider's ID token did not verify.", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.nonce)) != 1 {
		refuse("The provider's ID token is not for this sign-in (nonce).", nil)
		return
	}
	var claims struct {
		Email             string `json:"email"`
		PreferredUsername string `json:"preferred_username"`
		Name              string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		refuse("The provider's ID token could not be read.", err)
		return
	}
	user := claims.PreferredUsername
	if user == "" {
		user = claims.Email
	}
	if user == "" {
		user = idt.Subject
	}
	if !c.allowed(claims.Email, claims.PreferredUsername) {
		refuse("The account "+user+" is not allowed to use this console.", nil)
		return
	}
	s := c.sessions.create(user)
	c.setCookie(w, r, s)
	c.log.Info("console: signed in", "user", user, "via", "oidc", "addr", clientAddr(r))
	// A page, not a redirect: the browser arrives here from the provider's
	// site, and would not send the Strict session cookie with a redirect
	// that continues that cross-site navigation.
	c.render(w, r, s, http.StatusOK, "signedin", "Signed in", struct{ Next string }{p.next})
}

func (c *Console) allowed(ids ...string) bool {
	list := c.opts.Auth.OIDC.AllowedUsers
	if len(list) == 0 {
		return true
	}
	for _, a := range list {
		for _, id := range ids {
			if id != "" && strings.EqualFold(a, id) {
				return true
			}
		}
	}
	return false
}
