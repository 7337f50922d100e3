package config

import (
	"errors"

	"github.com/psasync/adsync"
)

// The sections of the file that only `adsync serve` reads: the admin
// console (http), the alert channels (alerts) and the metrics listener
// (metrics). A program that embeds the sync reads them too, or ignores
// them.

type httpYAML struct {
	// Listen is the console's address, e.g. 127.0.0.1:8080; empty: no
	// console.
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

type metricsYAML struct {
	Listen string `yaml:"listen"`
}

// HTTP is the http section: where `adsync serve` serves the admin console
// and how administrators sign in. The console validates the sign-in
// settings; this package resolves the secrets.
type HTTP struct {
	Listen string
	// TLSCert and TLSKey are PEM files, both or neither.
	TLSCert, TLSKey string
	Username        string
	// PasswordHash is a bcrypt hash; Password the password itself, from
	// passwordEnv or passwordFile.
	PasswordHash string
	Password     adsync.Secret
	// OIDC is the OpenID Connect sign-in, nil for none.
	OIDC *OIDC
}

// OIDC is OpenID Connect sign-in to the console (for example Entra ID).
type OIDC struct {
	Issuer, ClientID string
	ClientSecret     adsync.Secret
	RedirectURL      string
	AllowedUsers     []string
}

// httpSection resolves the http section.
func (l *loader) httpSection(h *httpYAML) (HTTP, error) {
	c := HTTP{Listen: h.Listen, TLSCert: l.rel(h.TLSCert), TLSKey: l.rel(h.TLSKey), Username: h.Username, PasswordHash: h.PasswordHash}
	if (h.TLSCert == "") != (h.TLSKey == "") {
		return c, l.bad("http.tlsCert", "give both tlsCert and tlsKey (PEM files), or neither")
	}
	pw, err := l.secret("http", "password", h.Password, h.PasswordEnv, h.PasswordFile, false)
	if err != nil {
		return c, err
	}
	c.Password = adsync.NewSecret(pw)
	if o := h.OIDC; o != nil {
		secret, err := l.secret("http.oidc", "clientSecret", o.ClientSecret, o.ClientSecretEnv, o.ClientSecretFile, true)
		if err != nil {
			return c, err
		}
		c.OIDC = &OIDC{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: adsync.NewSecret(secret),
			RedirectURL: o.RedirectURL, AllowedUsers: o.AllowedUsers}
	}
	return c, nil
}

// alertsSection resolves the alerts section (package notify) and the
// metrics listener.
func (l *loader) alertsSection(cfg *Config, fc *fileConfig) error {
	cfg.MetricsListen = fc.Metrics.Listen
	if fc.Alerts == nil {
		return nil
	}
	ac, err := fc.Alerts.Build("alerts", l.secret)
	var ce *adsync.ConfigError
	if errors.As(err, &ce) {
		return l.bad(ce.Field, "%s", ce.Problem)
	}
	if err != nil {
		return err
	}
	cfg.Alerts = &ac
	return nil
}

// ConsoleError is a *Error for a setting of the http section, for the
// console's own validation of the sign-in settings: field is relative to
// the section ("username", "oidc.issuer").
func (c *Config) ConsoleError(field, msg string) error {
	return &Error{File: c.Path, Line: c.lines["http."+field], Field: "http." + field, Msg: msg}
}
