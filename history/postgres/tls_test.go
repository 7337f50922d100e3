package postgres_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/postgres"
)

// fakeTLSServer answers PostgreSQL's SSLRequest on a loopback port: with
// 'N' (no TLS) when cert is nil, else with 'S' and a TLS handshake with
// cert. It stands in for a server the harness cannot configure.
func fakeTLSServer(t *testing.T, cert *tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := io.ReadFull(c, make([]byte, 8)); err != nil { // SSLRequest
					return
				}
				if cert == nil {
					_, _ = c.Write([]byte("N"))
					_, _ = io.Copy(io.Discard, c)
					return
				}
				_, _ = c.Write([]byte("S"))
				_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*cert}}).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

// A TLS failure (untrusted certificate, or a server without TLS when the
// DSN requires it) is ErrTLS and says what to change, not "check the host
// and port"; the password never shows.
func TestOpenTLSFailure(t *testing.T) {
	hs := httptest.NewTLSServer(nil) // only for its self-signed certificate
	cert := hs.TLS.Certificates[0]
	hs.Close()
	for _, tc := range []struct {
		name, sslmode string
		cert          *tls.Certificate
		wants         []string
	}{
		{"untrusted certificate", "verify-full", &cert, []string{"certificate", "sslrootcert"}},
		{"untrusted certificate, chain only", "verify-ca", &cert, []string{"certificate", "sslrootcert"}},
		{"server without TLS", "require", nil, []string{"server refused TLS", "sslmode"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeTLSServer(t, tc.cert)
			_, err := postgres.Open(t.Context(), "postgres://adsync:"+secret+"@"+addr+"/adsync?connect_timeout=5&sslmode="+tc.sslmode, nil)
			require.ErrorIs(t, err, adsync.ErrTLS)
			assert.True(t, adsync.IsSystemic(err))
			assert.NotContains(t, err.Error(), "check the host and port")
			assert.NotContains(t, err.Error(), secret)
			for _, w := range tc.wants {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
