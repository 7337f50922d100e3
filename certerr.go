package adsync

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// CertificateFailure reports whether err, anywhere in its chain, is a
// failed check of a server's certificate, with the TLS status it stands for
// (R-STATUS-2: hostname-mismatch, expired or untrusted) and the check's own
// text. Sources and stores use it to answer ErrTLS at once, with a fix,
// rather than retry what no retry can mend.
func CertificateFailure(err error) (status TLSStatus, text string, ok bool) {
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ua x509.UnknownAuthorityError
	var cve *tls.CertificateVerificationError
	switch {
	case errors.As(err, &he):
		return TLSHostnameMismatch, he.Error(), true
	case errors.As(err, &ci):
		if ci.Reason == x509.Expired {
			return TLSExpired, ci.Error(), true
		}
		return TLSUntrusted, ci.Error(), true
	case errors.As(err, &ua):
		return TLSUntrusted, ua.Error(), true
	case errors.As(err, &cve):
		return TLSUntrusted, cve.Error(), true
	}
	return "", "", false
}
