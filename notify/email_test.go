package notify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/notify"
)

// smtpServer is an in-process SMTP server that wants TLS and AUTH PLAIN
// with one user, and keeps the mail it accepts.
type smtpServer struct {
	addr  string
	pool  *x509.CertPool
	mu    sync.Mutex
	mails []mailMsg
}

type mailMsg struct {
	from string
	to   []string
	data string
	tls  bool
}

const smtpUser, smtpPassword = "alerts@example.com", "smtp-Pa55word"

func startSMTP(t *testing.T, implicit, plain bool) *smtpServer {
	t.Helper()
	cert, pool := selfSigned(t)
	srv := &smtpServer{pool: pool}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: srv, conn: c}, nil
	}))
	s.Domain = "127.0.0.1"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	if plain {
		s.TLSConfig, s.AllowInsecureAuth = nil, true // offers no STARTTLS
	}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	require.NoError(t, err)
	srv.addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return srv
}

func (s *smtpServer) got() []mailMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mailMsg(nil), s.mails...)
}

type smtpSession struct {
	srv    *smtpServer
	conn   *smtp.Conn
	authed bool
	msg    mailMsg
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != smtpUser || pass != smtpPassword {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.msg = mailMsg{from: from}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.msg.tls = s.conn.TLSConnectionState()
	s.msg.data = string(b)
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.mails = append(s.srv.mails, s.msg)
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestEmail(t *testing.T) {
	for _, tc := range []struct {
		name     string
		implicit bool
		mode     string
	}{
		{"STARTTLS", false, notify.TLSStartTLS},
		{"implicit TLS", true, notify.TLSImplicit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTP(t, tc.implicit, false)
			host, port, err := net.SplitHostPort(srv.addr)
			require.NoError(t, err)
			var p int
			p, err = strconv.Atoi(port)
			require.NoError(t, err)
			ch := &notify.Email{Host: host, Port: p, TLS: tc.mode, Username: smtpUser, Password: smtpPassword,
				From: "adsync@example.com", To: []string{"ops@example.com", "oncall@example.com"}, RootCAs: srv.pool}
			n := newNotifier(t, notify.Config{Store: history.NewMemory(), Now: func() time.Time { return t0 },
				Routes: []notify.Route{{Channel: ch}}})
			f := end("contoso", 3, adsync.StatusFailed)
			f.Run.Error = "adsync: read the directory of \"contoso\": connection lost"
			n.RunFinished(f)
			flush(t, n)

			mails := srv.got()
			require.Len(t, mails, 1)
			m := mails[0]
			assert.True(t, m.tls, "sent encrypted")
			assert.Equal(t, "adsync@example.com", m.from)
			assert.ElementsMatch(t, []string{"ops@example.com", "oncall@example.com"}, m.to)
			assert.Contains(t, m.data, "Subject: adsync: contoso: sync failed")
			assert.Contains(t, unfold(m.data), "connection lost")
			assert.NotContains(t, m.data, smtpPassword)
		})
	}
}

func TestEmailRefusesWrongPasswordWithoutShowingIt(t *testing.T) {
	srv := startSMTP(t, true, false)
	host, port, _ := net.SplitHostPort(srv.addr)
	var p int
	p, _ = strconv.Atoi(port)
	ch := &notify.Email{Host: host, Port: p, TLS: notify.TLSImplicit, Username: smtpUser, Password: "wrong-Secret-123",
		From: "adsync@example.com", To: []string{"ops@example.com"}, RootCAs: srv.pool}
	err := ch.Send(t.Context(), notify.Alert{Event: notify.EventTest, Title: "t", Text: "t"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "wrong-Secret-123")
	assert.Empty(t, srv.got())
	assert.NotContains(t, ch.String(), "wrong-Secret-123")
}

func TestEmailValidate(t *testing.T) {
	base := notify.Email{Host: "smtp.example.com", From: "a@example.com", To: []string{"b@example.com"}}
	tests := []struct {
		name string
		edit func(*notify.Email)
		want string
	}{
		{"no host", func(e *notify.Email) { e.Host = "" }, "host is required"},
		{"no from", func(e *notify.Email) { e.From = "" }, "from is required"},
		{"no recipient", func(e *notify.Email) { e.To = nil }, "to needs"},
		{"plain text refused", func(e *notify.Email) { e.TLS = "none" }, `"none" is not`},
		{"bad port", func(e *notify.Email) { e.Port = 70000 }, "port is out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			tc.edit(&e)
			err := e.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	require.NoError(t, base.Validate())
}

// unfold joins quoted-printable soft line breaks.
func unfold(s string) string { return strings.ReplaceAll(s, "=\r\n", "") }

// A server that does not offer STARTTLS gets no mail: the password and the
// alert are never sent in clear.
func TestEmailRefusesAServerWithoutTLS(t *testing.T) {
	srv := startSMTP(t, false, true)
	host, port, _ := net.SplitHostPort(srv.addr)
	p, _ := strconv.Atoi(port)
	ch := &notify.Email{Host: host, Port: p, Username: smtpUser, Password: smtpPassword,
		From: "adsync@example.com", To: []string{"ops@example.com"}, RootCAs: srv.pool}
	err := ch.Send(t.Context(), notify.Alert{Event: notify.EventTest, Title: "t", Text: "t"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "STARTTLS")
	assert.Empty(t, srv.got())
}
