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

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/config"
	"github.com/psasync/adsync/console"
)

// consoleAuth is the sign-in of the console from the configuration's http
// section, validated by the console: an error names the setting and its
// line.
func consoleAuth(cfg *config.Config) (console.Auth, error) {
	h := cfg.HTTP
	auth := console.Auth{Username: h.Username, PasswordHash: h.PasswordHash, Password: h.Password.Reveal()}
	if o := h.OIDC; o != nil {
		auth.OIDC = &console.OIDCConfig{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret.Reveal(),
			RedirectURL: o.RedirectURL, AllowedUsers: o.AllowedUsers}
	}
	if !auth.Configured() {
		return auth, nil
	}
	err := auth.Validate()
	var ce *adsync.ConfigError
	if errors.As(err, &ce) {
		field, ok := map[string]string{"Auth.Username": "username", "Auth.PasswordHash": "passwordHash",
			"Auth.Password": "passwordEnv", "Auth.OIDC.Issuer": "oidc.issuer", "Auth.OIDC.ClientID": "oidc.clientId",
			"Auth.OIDC.ClientSecret": "oidc.clientSecretEnv", "Auth.OIDC.RedirectURL": "oidc.redirectUrl"}[ce.Field]
		if !ok {
			field = ce.Field
		}
		return auth, cfg.ConsoleError(field, ce.Problem)
	}
	return auth, err
}

// startConsole serves the console on addr until stop is called. An address
// beyond loopback is refused unless sign-in is configured; without it, on
// loopback, the console needs no sign-in. It returns the address listened
// on.
func startConsole(addr, certFile, keyFile string, opts console.Options, log *slog.Logger) (c *console.Console, stop func(), bound string, err error) {
	return startConsoleWith(addr, certFile, keyFile, opts, log, nil)
}

// startConsoleWith is startConsole serving routes(c) instead of the console
// alone when routes is not nil: the console with a host's own handlers
// beside it.
func startConsoleWith(addr, certFile, keyFile string, opts console.Options, log *slog.Logger,
	routes func(*console.Console) http.Handler) (c *console.Console, stop func(), bound string, err error) {
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
	var h http.Handler = c
	if routes != nil {
		h = routes(c)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
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
