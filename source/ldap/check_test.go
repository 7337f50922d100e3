package ldap_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	adldap "github.com/psasync/adsync/source/ldap"
)

// sambaCert is the DC's own certificate, next to its CA.
func sambaCert(t *testing.T, e dcEnv) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(e.CA), "cert.pem"))
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	require.NotNil(t, blk)
	c, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	return c
}

// TLS against Samba (R-STATUS-2). Samba's certificate has no
// subjectAltName, so only chain-only verification (or insecure) connects.
func TestCheckTLS(t *testing.T) {
	e := needDC(t)
	cert := sambaCert(t, e)
	otherCA := pemOf(newCA(t, "Some Other CA"))
	for _, tc := range []struct {
		name   string
		tls    adldap.TLSConfig
		status adsync.TLSStatus
		errHas []string // nil: Check succeeds
	}{
		{"R-STATUS-2 chain-only with Samba's CA", adldap.TLSConfig{CA: e.CA, Verify: adldap.VerifyChainOnly}, adsync.TLSOK, nil},
		{"R-STATUS-2 full mode: host name mismatch says which mode to use", adldap.TLSConfig{CA: e.CA},
			adsync.TLSHostnameMismatch, []string{"127.0.0.1", "tls.serverName", `tls.verify="chain-only"`}},
		{"R-STATUS-2 full mode with the DC's name: no subjectAltName", adldap.TLSConfig{CA: e.CA, ServerName: cert.Subject.CommonName},
			adsync.TLSHostnameMismatch, []string{"no subjectAltName", `tls.verify="chain-only"`}},
		{"R-STATUS-2 system roots: untrusted", adldap.TLSConfig{},
			adsync.TLSUntrusted, []string{"not trusted", "set tls.ca"}},
		{"R-STATUS-2 wrong CA: untrusted", adldap.TLSConfig{CA: otherCA, Verify: adldap.VerifyChainOnly},
			adsync.TLSUntrusted, []string{"not trusted", "tls.ca does not hold"}},
		{"R-STATUS-2 insecure: connects, reported untrusted", adldap.TLSConfig{Verify: adldap.VerifyInsecure}, adsync.TLSUntrusted, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config(e.BaseDN)
			cfg.TLS = tc.tls
			var logged bytes.Buffer
			cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
			st, err := newSource(t, cfg).Check(context.Background())
			assert.Equal(t, tc.status, st.TLS)
			assert.True(t, cert.NotAfter.Equal(st.CertExpiry), "certificate expiry %s, want %s", st.CertExpiry, cert.NotAfter)
			if tc.errHas == nil {
				require.NoError(t, err)
				assert.Contains(t, st.Detail, e.BindDN)
				if tc.tls.Verify == adldap.VerifyInsecure {
					assert.Contains(t, logged.String(), "NOT verified", "insecure mode is logged loudly")
				}
				return
			}
			require.ErrorIs(t, err, adsync.ErrTLS)
			var le *adldap.Error
			require.ErrorAs(t, err, &le)
			assert.Equal(t, tc.status, le.TLS)
			for _, s := range tc.errHas {
				assert.Contains(t, err.Error(), s)
			}
		})
	}
}

func TestCheckStartTLS(t *testing.T) {
	d := connectDC(t)
	e := d.env
	ou := d.newOU("starttls", "")
	d.addUser(ou, person{CN: "Stella Tls", Given: "Stella", Sn: "Tls"})
	cfg := e.config(ou)
	cfg.URL, cfg.StartTLS = "ldap://127.0.0.1:389", true
	st, err := newSource(t, cfg).Check(context.Background())
	require.NoError(t, err)
	assert.Equal(t, adsync.TLSOK, st.TLS)
	assert.Contains(t, st.Detail, "StartTLS")
	users, _ := readAll(t, newSource(t, cfg))
	assert.Equal(t, []string{"Stella Tls"}, names(users), "a read over StartTLS")

	cfg.TLS.Verify = adldap.VerifyFull
	st, err = newSource(t, cfg).Check(context.Background())
	require.ErrorIs(t, err, adsync.ErrTLS)
	assert.Equal(t, adsync.TLSHostnameMismatch, st.TLS)
}

// Plaintext: refused by Validate; with the test-only switch, the DC itself
// refuses the simple bind (result 8) and the error says what to do.
func TestPlaintext(t *testing.T) {
	e := needDC(t)
	cfg := e.config(e.BaseDN)
	cfg.URL = "ldap://127.0.0.1:389"
	_, err := adldap.New(cfg)
	require.ErrorIs(t, err, adsync.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "unencrypted")

	cfg.AllowPlaintext = true
	st, err := newSource(t, cfg).Check(context.Background())
	require.ErrorIs(t, err, adsync.ErrUnauthorized)
	assert.Contains(t, err.Error(), "LDAP 8")
	assert.Contains(t, err.Error(), "use ldaps://")
	assert.Equal(t, adsync.TLSNotApplicable, st.TLS)
}

// Bind failures: result 49 with AD's data code decoded; the password never
// appears in the error.
func TestCheckBind(t *testing.T) {
	d := connectDC(t)
	ou := d.newOU("bind", "")
	const pw = "Zq9-correct-Horse"
	disabled := d.addUser(ou, person{CN: "disabled svc", Password: pw, Disabled: true, UPN: "dis-" + randomSuffix() + "@" + d.env.Realm})
	mustChange := d.addUser(ou, person{CN: "new svc", Password: pw, UPN: "new-" + randomSuffix() + "@" + d.env.Realm})
	d.modify(mustChange, map[string]string{"pwdLastSet": "0"})
	good := d.addUser(ou, person{CN: "good svc", Password: pw})
	admin, _, _ := strings.Cut(d.env.BindDN, "@")
	cases := []struct {
		name, bind, password string
		errHas               string // "" = success
	}{
		{"wrong password", d.env.BindDN, "Wrong-" + pw, "wrong password"},
		{"unknown account", "nobody-" + randomSuffix() + "@" + d.env.Realm, pw, "LDAP 49"},
		{"disabled account", disabled, pw, "disabled"},
		{"password must change", mustChange, pw, "must be changed"},
		{"service account bound by DN", good, pw, ""},
	}
	if dom := os.Getenv("ADSYNC_LDAP_DOMAIN"); dom != "" {
		cases = append(cases, struct{ name, bind, password, errHas string }{
			`bound as DOMAIN\user`, dom + `\` + admin, d.env.Password, ""})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := d.env.config(d.env.BaseDN)
			cfg.BindName, cfg.Password = tc.bind, adsync.NewSecret(tc.password)
			_, err := newSource(t, cfg).Check(context.Background())
			if tc.errHas == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, adsync.ErrUnauthorized)
			assert.Contains(t, err.Error(), tc.errHas)
			assert.Contains(t, err.Error(), tc.bind)
			assert.NotContains(t, err.Error(), tc.password)
			assert.True(t, adsync.IsSystemic(err))
		})
	}
}

// Base DN and group DN that do not exist: Check names them; a read fails.
func TestCheckNotFound(t *testing.T) {
	e := needDC(t)
	for _, tc := range []struct {
		name  string
		edit  func(*adldap.Config)
		field string
	}{
		{"base DN", func(c *adldap.Config) { c.BaseDN = "OU=missing-" + randomSuffix() + "," + e.BaseDN }, "baseDN"},
		{"group DN", func(c *adldap.Config) { c.GroupDN = "CN=missing-" + randomSuffix() + "," + e.BaseDN }, "groupDN"},
		{"OU", func(c *adldap.Config) { c.OUs = []string{"OU=missing-" + randomSuffix() + "," + e.BaseDN} }, "ous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config(e.BaseDN)
			tc.edit(&cfg)
			src := newSource(t, cfg)
			st, err := src.Check(context.Background())
			require.ErrorIs(t, err, adsync.ErrNotFound)
			assert.True(t, strings.HasPrefix(err.Error(), "ldap: check "+tc.field+": "), err.Error())
			assert.Equal(t, adsync.TLSOK, st.TLS, "the TLS status is known even when the check fails")
		})
	}
	t.Run("read under a missing base DN fails", func(t *testing.T) {
		cfg := e.config("OU=missing-" + randomSuffix() + "," + e.BaseDN)
		err := newSource(t, cfg).Users(context.Background(), func([]adsync.User) error { return nil })
		require.ErrorIs(t, err, adsync.ErrNotFound)
	})
}

// Unreachable DCs: refused, and a port that never answers the handshake.
func TestCheckUnavailable(t *testing.T) {
	e := needDC(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	silentAddr := ln.Addr().String()
	t.Cleanup(func() { ln.Close() })
	go func() { // accept and say nothing
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := closed.Addr().String()
	closed.Close()

	for _, tc := range []struct{ name, url, errHas string }{
		{"connection refused", "ldaps://" + closedAddr, "connection refused"},
		{"handshake times out", "ldaps://" + silentAddr, "timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config(e.BaseDN)
			cfg.URL, cfg.DialTimeout = tc.url, 300*time.Millisecond
			st, err := newSource(t, cfg).Check(context.Background())
			require.ErrorIs(t, err, adsync.ErrUnavailable)
			assert.Contains(t, err.Error(), tc.errHas)
			assert.Equal(t, adsync.TLSUnknown, st.TLS)
		})
	}
}

// Certificate expiry (R-STATUS-2), with a TLS listener of our own: Samba's
// certificate cannot be made to expire. Only the handshake matters here.
func TestCheckCertificateExpiry(t *testing.T) {
	ca := newCA(t, "Test CA")
	for _, tc := range []struct {
		name     string
		notAfter time.Duration
		status   adsync.TLSStatus
		wantTLS  bool // true: the handshake passes (the bind then fails: not LDAP)
	}{
		{"R-STATUS-2 expired", -time.Hour, adsync.TLSExpired, false},
		{"R-STATUS-2 expiring within 30 days", 10 * 24 * time.Hour, adsync.TLSExpiring, true},
		{"R-STATUS-2 ok", 90 * 24 * time.Hour, adsync.TLSOK, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaf := ca.issue(t, time.Now().Add(tc.notAfter))
			addr := tlsServer(t, leaf)
			cfg := validConfig()
			cfg.URL, cfg.TLS.CA, cfg.DialTimeout, cfg.Timeout = "ldaps://"+addr, pemOf(ca), time.Second, time.Second
			st, err := newSource(t, cfg).Check(context.Background())
			require.Error(t, err)
			assert.Equal(t, tc.status, st.TLS)
			assert.WithinDuration(t, time.Now().Add(tc.notAfter), st.CertExpiry, time.Minute)
			assert.Equal(t, !tc.wantTLS, errors.Is(err, adsync.ErrTLS), "%v", err)
			if !tc.wantTLS {
				assert.Contains(t, err.Error(), "expired")
			}
		})
	}
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{c, key}
}

func pemOf(ca *testCA) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}))
}

func (ca *testCA) issue(t *testing.T, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "dc1.corp.example"},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: notAfter,
		DNSNames: []string{"dc1.corp.example"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsServer accepts TLS connections with cert and closes them after the
// handshake.
func tlsServer(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// Samba's self-made certificate has a negative serial number half the time
// (this one came from a test DC), and Go refuses to parse it: the error
// says what to do.
func TestCheckNegativeSerial(t *testing.T) {
	certPEM, err := os.ReadFile("../../testdata/ldap/negative-serial-cert.pem")
	require.NoError(t, err)
	keyPEM, err := os.ReadFile("../../testdata/ldap/negative-serial-key.pem")
	require.NoError(t, err)
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	require.NotNil(t, cb)
	require.NotNil(t, kb)
	key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
	require.NoError(t, err)
	// The server never parses its own certificate, so it can serve it.
	addr := tlsServer(t, tls.Certificate{Certificate: [][]byte{cb.Bytes}, PrivateKey: key})
	cfg := validConfig()
	cfg.URL, cfg.TLS.CA, cfg.TLS.Verify = "ldaps://"+addr, pemOf(newCA(t, "Any CA")), adldap.VerifyChainOnly
	st, err := newSource(t, cfg).Check(context.Background())
	require.ErrorIs(t, err, adsync.ErrTLS)
	assert.Contains(t, err.Error(), "negative serial number")
	assert.Contains(t, err.Error(), "GODEBUG=x509negativeserial=1")
	assert.Equal(t, adsync.TLSUntrusted, st.TLS)
}
