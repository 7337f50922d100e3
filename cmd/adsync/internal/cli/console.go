package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/psasync/adsync/console"
)

// httpYAML is the configuration file's http section: the admin console of
// `adsync serve`.
type httpYAML struct {
	// Listen is the console's address, e.g. 127.0.0.1:8080; empty: no
	// console. --http overrides it.
	Listen   string `yaml:"listen"`
	Username string `yaml:"username"`
	// PasswordHash is a bcrypt hash of the admin password (not a secret by
	// itself, so it may be written here); or the password itself from
	// passwordEnv / passwordFile.
	PasswordHash string    `yaml:"passwordHash"`
	Password     string    `yaml:"password"` // refused: inline secret
	PasswordEnv  string    `yaml:"passwordEnv"`
	PasswordFile string    `yaml:"passwordFile"`
	TLSCert      string    `yaml:"tlsCert"`
	TLSKey       string    `yaml:"tlsKey"`
	OIDC         *oidcYAML `yaml:"oidc"`
}

type oidcYAML struct {
	Issuer           string   `yaml:"issuer"`
	ClientID         string   `yaml:"clientId"`
	ClientSecret     string   `yaml:"clientSecret"` // refused: inline secret
	ClientSecretEnv  string   `yaml:"clientSecretEnv"`
	ClientSecretFile string   `yaml:"clientSecretFile"`
	RedirectURL      string   `yaml:"redirectUrl"`
	AllowedUsers     []string `yaml:"allowedUsers"`
}

// HTTPConfig is the loaded http section.
type HTTPConfig struct {
	Listen  string
	TLSCert string
	TLSKey  string
	// Auth is how administrators sign in; it prints without its secrets.
	Auth console.Auth
}

// httpConfig builds the http section, resolving its secrets.
func (l *loader) httpConfig(h *httpYAML) (HTTPConfig, error) {
	c := HTTPConfig{Listen: h.Listen, TLSCert: l.rel(h.TLSCert), TLSKey: l.rel(h.TLSKey)}
	if (h.TLSCert == "") != (h.TLSKey == "") {
		return c, l.bad("http.tlsCert", "give both tlsCert and tlsKey (PEM files), or neither")
	}
	pw, err := l.secret("http", "password", h.Password, h.PasswordEnv, h.PasswordFile, false)
	if err != nil {
		return c, err
	}
	c.Auth = console.Auth{Username: h.Username, PasswordHash: h.PasswordHash, Password: pw}
	if o := h.OIDC; o != nil {
		secret, err := l.secret("http.oidc", "clientSecret", o.ClientSecret, o.ClientSecretEnv, o.ClientSecretFile, true)
		if err != nil {
			return c, err
		}
		c.Auth.OIDC = &console.OIDCConfig{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: secret,
			RedirectURL: o.RedirectURL, AllowedUsers: o.AllowedUsers}
	}
	if c.Auth.Configured() {
		if err := c.Auth.Validate(); err != nil {
			return c, l.fromConfigError("http.", err, map[string]string{"Auth.Username": "username", "Auth.PasswordHash": "passwordHash",
				"Auth.Password": "passwordEnv", "Auth.OIDC.Issuer": "oidc.issuer", "Auth.OIDC.ClientID": "oidc.clientId",
				"Auth.OIDC.ClientSecret": "oidc.clientSecretEnv", "Auth.OIDC.RedirectURL": "oidc.redirectUrl"})
		}
	}
	return c, nil
}

// startConsole serves the console on addr until stop is called. An address
// beyond loopback is refused unless sign-in is configured; without it, on
// loopback, the console needs no sign-in. It returns the address listened
// on.
func startConsole(addr, certFile, keyFile string, opts console.Options, log *slog.Logger) (c *console.Console, stop func(), bound string, err error) {
	if err := console.CheckListen(addr, opts.Auth.Configured()); err != nil {
		return nil, nil, "", &InputError{Field: "http.listen", Msg: err.Error() + " (set http.passwordHash, http.passwordEnv or http.oidc in the configuration)"}
	}
	if !opts.Auth.Configured() {
		opts.Auth.NoAuth = true
		log.Warn("console: no sign-in configured: anyone who can reach the loopback address can use it", "listen", addr)
	}
	c, err = console.New(opts)
	if err != nil {
		return nil, nil, "", err
	}
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, nil, "", &InputError{Field: "http.tlsCert", Msg: fmt.Sprintf("cannot load the certificate and key: %v", err)}
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, "", fmt.Errorf("console: %w", err)
	}
	if srv.TLSConfig != nil {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("console stopped", "error", err)
		}
	}()
	return c, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		c.Wait()
	}, ln.Addr().String(), nil
}

// consoleURL is the console's address for a message.
func consoleURL(bound string, tls bool) string {
	if tls {
		return "https://" + bound + "/"
	}
	return "http://" + bound + "/"
}
