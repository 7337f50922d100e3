package adsync_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/psasync/adsync"
)

func TestCertificateFailure(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status adsync.TLSStatus
		ok     bool
	}{
		{"R-STATUS-2 hostname-mismatch", fmt.Errorf("dial: %w", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "dc1"}), adsync.TLSHostnameMismatch, true},
		{"R-STATUS-2 expired", &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Cert: &x509.Certificate{}, Reason: x509.Expired}}, adsync.TLSExpired, true},
		{"R-STATUS-2 untrusted", fmt.Errorf("get: %w", x509.UnknownAuthorityError{}), adsync.TLSUntrusted, true},
		{"not a certificate failure", errors.New("connection refused"), "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, text, ok := adsync.CertificateFailure(tc.err)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.status, status)
			if ok {
				assert.NotEmpty(t, text)
			}
		})
	}
}
