package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/psasync/adsync"
)

var (
	errorsAs       = errors.As
	errConnRefused = syscall.ECONNREFUSED
)

// session is one bound connection.
type session struct {
	conn   *wire
	state  tls.ConnectionState // zero for plaintext
	status adsync.TLSStatus
	expiry time.Time
	stop   func() bool // releases the ctx watcher
}

func (s *session) close() {
	s.stop()
	s.conn.Close()
}

// connect dials, sets up TLS and binds (see dial).
func (k *compiled) connect(ctx context.Context) (*session, error) {
	s, err := k.dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.bind(ctx, &k.cfg); err != nil {
		s.close()
		return nil, err
	}
	k.log.Debug("ldap: connected", "server", k.hostPort, "bind", k.cfg.BindName, "tls", s.status)
	return s, nil
}

// dial connects and sets up TLS as configured, without binding. The
// connection is closed when ctx is done: LDAP operations take no context.
func (k *compiled) dial(ctx context.Context) (*session, error) {
	c := &k.cfg
	d := net.Dialer{Timeout: c.DialTimeout}
	raw, err := d.DialContext(ctx, "tcp", k.hostPort)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxErr("connect to "+k.hostPort, ctx.Err())
		}
		return nil, opErr("connect to "+k.hostPort, adsync.ErrUnavailable, err, "cannot connect to the DC: %s; check the URL, that the DC is up and that a firewall lets port %s through",
			dialProblem(err), portOf(k.hostPort))
	}
	s := &session{status: adsync.TLSNotApplicable}
	var w *wire
	switch {
	case k.scheme == "ldaps":
		tc, err := k.handshake(ctx, raw)
		if err != nil {
			raw.Close()
			return nil, err
		}
		s.state = tc.ConnectionState()
		w = newWire(tc, c.Timeout)
	default:
		w = newWire(raw, c.DialTimeout)
		if c.StartTLS {
			var holder verifyResult
			tc, err := w.startTLS(k.tlsConfig(&holder))
			if err != nil {
				w.Close()
				if ctx.Err() != nil {
					return nil, ctxErr("StartTLS with "+k.hostPort, ctx.Err())
				}
				return nil, k.tlsFailure(err, &holder, "StartTLS")
			}
			s.state = tc.ConnectionState()
		}
		w.timeout = c.Timeout
	}
	s.conn = w
	s.stop = context.AfterFunc(ctx, func() { w.Close() })
	if len(s.state.PeerCertificates) > 0 {
		s.expiry = s.state.PeerCertificates[0].NotAfter
		s.status = adsync.TLSStatusOf(s.expiry, time.Now())
		if c.TLS.Verify == VerifyInsecure {
			s.status = adsync.TLSUntrusted
			k.log.Warn("ldap: TLS certificate NOT verified (tls.verify=insecure): anyone on the path can read the bind password; set tls.ca and use full or chain-only",
				"server", k.hostPort)
		}
	} else {
		k.log.Warn("ldap: plaintext connection (allowPlaintext): for tests only", "server", k.hostPort)
	}
	return s, nil
}

func portOf(hostPort string) string {
	_, p, _ := net.SplitHostPort(hostPort)
	return p
}

func dialProblem(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errConnRefused):
		return "connection refused"
	case errorsAs(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return err.Error()
}

// verifyResult records what the certificate check saw, for the error.
type verifyResult struct {
	leaf *x509.Certificate
	err  error
}

// tlsConfig builds the client TLS configuration. Verification is done in
// VerifyConnection in every mode, so a failure can be classified (expired,
// untrusted, host name) and the certificate's expiry reported.
func (k *compiled) tlsConfig(res *verifyResult) *tls.Config {
	c := &k.cfg
	name := c.TLS.ServerName
	if name == "" {
		name = k.host
	}
	mode := c.TLS.Verify
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         name,
		InsecureSkipVerify: true, // verified below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				res.err = errors.New("the server sent no certificate")
				return res.err
			}
			res.leaf = cs.PeerCertificates[0]
			if mode == VerifyInsecure {
				return nil
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			opts := x509.VerifyOptions{Roots: k.roots, Intermediates: inter}
			if _, err := res.leaf.Verify(opts); err != nil {
				res.err = err
				return err
			}
			if mode == VerifyFull {
				if err := res.leaf.VerifyHostname(name); err != nil {
					res.err = err
					return err
				}
			}
			return nil
		},
	}
}

func (k *compiled) handshake(ctx context.Context, raw net.Conn) (*tls.Conn, error) {
	var res verifyResult
	tc := tls.Client(raw, k.tlsConfig(&res))
	hctx, cancel := context.WithTimeout(ctx, k.cfg.DialTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctxErr("TLS handshake with "+k.hostPort, ctx.Err())
		}
		return nil, k.tlsFailure(err, &res, "TLS handshake")
	}
	return tc, nil
}

// tlsFailure turns a handshake error into an *Error of kind adsync.ErrTLS
// with its TLS status, whose message says which setting to change.
func (k *compiled) tlsFailure(err error, res *verifyResult, what string) error {
	op := what + " with " + k.hostPort
	var ne net.Error
	if res.leaf == nil && errorsAs(err, &ne) && ne.Timeout() {
		return opErr(op, adsync.ErrUnavailable, err, "timed out: the port answers but does not speak TLS in time; check that it is the DC's LDAPS port (636) and that the DC is not overloaded")
	}
	e := &Error{Op: op, Kind: adsync.ErrTLS, TLS: adsync.TLSUnknown, Err: err}
	if res.leaf != nil {
		e.CertExpiry = res.leaf.NotAfter
	}
	var (
		host    x509.HostnameError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
	)
	subject := ""
	if res.leaf != nil {
		subject = fmt.Sprintf(" (certificate %q, expires %s)", res.leaf.Subject.CommonName, res.leaf.NotAfter.Format(time.DateOnly))
	}
	switch {
	case errorsAs(res.err, &host):
		e.TLS = adsync.TLSHostnameMismatch
		e.Message = fmt.Sprintf("the DC's certificate does not name %q%s: %v; set tls.serverName to a name the certificate holds%s, or use tls.verify=%q to check the CA chain without the host name",
			host.Host, subject, err, certNames(res.leaf), VerifyChainOnly)
	case errorsAs(res.err, &invalid) && invalid.Reason == x509.Expired:
		e.TLS = adsync.TLSExpired
		e.Message = fmt.Sprintf("the DC's certificate has expired%s; renew the DC's LDAPS certificate", subject)
	case errorsAs(res.err, &unknown) || errorsAs(res.err, &invalid):
		e.TLS = adsync.TLSUntrusted
		fix := "set tls.ca to the CA certificate that signed it (PEM file or text)"
		if k.cfg.TLS.CA != "" {
			fix = "tls.ca does not hold the CA that signed it; give that CA (PEM)"
		}
		e.Message = fmt.Sprintf("the DC's certificate is not trusted%s: %v; %s", subject, err, fix)
	case strings.Contains(err.Error(), "negative serial number"):
		// Samba's self-made certificates have a random 32-bit serial,
		// negative half the time; Go refuses to parse them.
		e.TLS = adsync.TLSUntrusted
		e.Message = fmt.Sprintf("the DC's certificate has a negative serial number, which Go refuses (%v); issue the DC a new certificate (on Samba: delete private/tls/*.pem and restart), or run this program with GODEBUG=x509negativeserial=1",
			err)
	case res.err != nil:
		e.TLS = adsync.TLSUntrusted
		e.Message = fmt.Sprintf("certificate check failed%s: %v", subject, res.err)
	default:
		e.Message = fmt.Sprintf("failed: %v; check that the port speaks LDAPS (636) or, for ldap:// with startTLS, that the DC has a certificate", err)
	}
	return e
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return " (it has no subjectAltName; its CN is " + c.Subject.CommonName + ", which Go does not accept as a host name)"
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// AD's data codes in the message of result 49 (invalidCredentials).
var bindDataCodes = map[string]string{
	"525": "the account does not exist",
	"52e": "wrong password (or unknown account)",
	"530": "logon not permitted at this time",
	"531": "logon not permitted from this workstation",
	"532": "the password has expired",
	"533": "the account is disabled",
	"701": "the account has expired",
	"773": "the password must be changed before the first logon",
	"775": "the account is locked out",
}

var dataCodePattern = regexp.MustCompile(`data ([0-9a-fA-F]+)`)

// BindProblem decodes AD's reason from the diagnostic message of a result 49
// ("…AcceptSecurityContext error, data 52e, v1db1"), or returns "".
func BindProblem(msg string) string {
	m := dataCodePattern.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	return bindDataCodes[strings.ToLower(m[1])]
}

func (s *session) bind(ctx context.Context, c *Config) error {
	err := s.conn.bind(c.BindName, c.Password.Reveal())
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctxErr("bind as "+c.BindName, ctx.Err())
	}
	var le *ldap.Error
	if errorsAs(err, &le) {
		switch le.ResultCode {
		case ldap.LDAPResultInvalidCredentials:
			why := BindProblem(le.Err.Error())
			if why == "" {
				why = "invalid credentials"
			}
			return opErr("bind as "+c.BindName, adsync.ErrUnauthorized, nil, "refused: %s (LDAP 49: %s); check bindName and password",
				why, strings.TrimSpace(le.Err.Error()))
		case ldap.LDAPResultStrongAuthRequired:
			return opErr("bind as "+c.BindName, adsync.ErrUnauthorized, nil, "refused: the DC requires an encrypted connection for simple binds (LDAP 8, strong authentication required); use ldaps:// or startTLS")
		case ldap.LDAPResultConfidentialityRequired:
			return opErr("bind as "+c.BindName, adsync.ErrUnauthorized, nil, "refused: the DC requires confidentiality (LDAP 13); use ldaps:// or startTLS")
		}
	}
	return opError(err, "bind as "+c.BindName)
}

// opError classifies an error of an LDAP operation: network errors are
// ErrUnavailable; others are wrapped with what failed.
func opError(err error, what string) error {
	var le *ldap.Error
	if errorsAs(err, &le) {
		switch le.ResultCode {
		case ldap.ErrorNetwork, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable, ldap.LDAPResultServerDown,
			ldap.LDAPResultTimeout, ldap.LDAPResultTimeLimitExceeded, ldap.LDAPResultAdminLimitExceeded:
			return &Error{Op: what, Kind: adsync.ErrUnavailable, Err: err}
		case ldap.LDAPResultInsufficientAccessRights:
			return opErr(what, adsync.ErrUnauthorized, err, "the bind account may not read this (LDAP 50): %v", err)
		}
	}
	var ne net.Error
	if errorsAs(err, &ne) || errors.Is(err, net.ErrClosed) {
		return &Error{Op: what, Kind: adsync.ErrUnavailable, Err: err}
	}
	return &Error{Op: what, Err: err}
}
