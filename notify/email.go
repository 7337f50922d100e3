package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// The TLS modes of Email.
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS,
	// refusing a server that does not offer it (port 587 by default).
	TLSStartTLS = "starttls"
	// TLSImplicit connects over TLS from the first byte (port 465 by
	// default).
	TLSImplicit = "tls"
)

// Email sends alerts as plain-text mail over SMTP, always encrypted: with
// STARTTLS or implicit TLS. The password is used to authenticate only.
type Email struct {
	// Label names the channel in logs (default "email").
	Label string
	// Host is the SMTP server. Required.
	Host string
	// Port defaults to 587 for STARTTLS and 465 for implicit TLS.
	Port int
	// TLS is TLSStartTLS (default) or TLSImplicit.
	TLS string
	// Username and Password authenticate (SMTP AUTH PLAIN or LOGIN, as
	// the server offers); an empty Username sends without authentication.
	Username string
	Password string
	// From is the sender address; To the recipients. Required.
	From string
	To   []string
	// RootCAs verifies the server's certificate; nil means the system's.
	RootCAs *x509.CertPool
	// Timeout bounds the connection (default 30 s).
	Timeout time.Duration
}

// Name returns the label.
func (e *Email) Name() string { return label(e.Label, "email") }

// String describes the channel without its password.
func (e *Email) String() string {
	return fmt.Sprintf("email{%s:%d %s from %s to %s}", e.Host, e.port(), e.mode(), e.From, strings.Join(e.To, ","))
}

// Validate reports the first bad field, as the YAML key it comes from.
func (e *Email) Validate() error {
	bad := func(field, problem string) error {
		return fmt.Errorf("email channel %s: %s %s", e.Name(), field, problem)
	}
	switch {
	case e.Host == "":
		return bad("host", "is required")
	case e.From == "":
		return bad("from", "is required")
	case len(e.To) == 0:
		return bad("to", "needs at least one address")
	case e.TLS != "" && e.TLS != TLSStartTLS && e.TLS != TLSImplicit:
		return bad("tls", fmt.Sprintf("%q is not %q or %q (mail is always sent encrypted)", e.TLS, TLSStartTLS, TLSImplicit))
	case e.Port < 0 || e.Port > 65535:
		return bad("port", "is out of range: "+strconv.Itoa(e.Port))
	}
	return nil
}

func (e *Email) mode() string {
	if e.TLS == "" {
		return TLSStartTLS
	}
	return e.TLS
}

func (e *Email) port() int {
	switch {
	case e.Port != 0:
		return e.Port
	case e.mode() == TLSImplicit:
		return 465
	}
	return 587
}

// Send mails the alert.
func (e *Email) Send(ctx context.Context, a Alert) error {
	if err := e.Validate(); err != nil {
		return err
	}
	timeout := e.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{
		mail.WithPort(e.port()),
		mail.WithTimeout(timeout),
		mail.WithTLSConfig(&tls.Config{ServerName: e.Host, RootCAs: e.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	if e.mode() == TLSImplicit {
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if e.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(e.Username), mail.WithPassword(e.Password))
	}
	c, err := mail.NewClient(e.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp %s:%d: %w", e.Host, e.port(), err)
	}
	m := mail.NewMsg()
	if err := m.From(e.From); err != nil {
		return fmt.Errorf("email from %q: %w", e.From, err)
	}
	if err := m.To(e.To...); err != nil {
		return fmt.Errorf("email to %q: %w", e.To, err)
	}
	m.Subject(a.Title)
	m.SetDate()
	m.SetBodyString(mail.TypeTextPlain, a.PlainText())
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		err = scrub(err, e.Password)
		return fmt.Errorf("smtp %s:%d: %w", e.Host, e.port(), err)
	}
	return nil
}

// scrub removes a secret from an error's text, should a server or library
// ever echo it.
func scrub(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}
