package graph

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

// StaticToken returns a credential that always hands out the same bearer
// token: for tests against the emulator (graphtest) and for callers that
// obtain tokens themselves. The token is valid for an hour from each call.
func StaticToken(token string) azcore.TokenCredential { return staticToken(token) }

type staticToken string

func (t staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if t == "" {
		return azcore.AccessToken{}, errors.New("graph: empty static token")
	}
	return azcore.AccessToken{Token: string(t), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// parseCertificate reads a PEM or PKCS#12 client certificate. azidentity
// reads PEM and legacy PKCS#12 (3DES, as older Windows and OpenSSL 1
// export); PKCS#12 files encrypted with AES (OpenSSL 3's default, recent
// Windows) are read with go-pkcs12. Its error never quotes the data or the
// password.
func parseCertificate(data []byte, password string) ([]*x509.Certificate, crypto.PrivateKey, error) {
	var pw []byte
	if password != "" {
		pw = []byte(password)
	}
	certs, key, err := azidentity.ParseCertificates(data, pw)
	if err != nil && !bytes.Contains(data, []byte("-----BEGIN")) {
		var leaf *x509.Certificate
		var chain []*x509.Certificate
		key, leaf, chain, err = gopkcs12.DecodeChain(data, password)
		if err == nil {
			certs = append([]*x509.Certificate{leaf}, chain...)
		}
	}
	if err != nil {
		return nil, nil, errors.New("cannot be read as a PEM or PKCS#12 certificate with its private key: check the file, and the password for PKCS#12")
	}
	if _, ok := key.(*rsa.PrivateKey); !ok {
		return nil, nil, errors.New("the private key must be an RSA key: Entra ID accepts RSA certificates only")
	}
	return certs, key, nil
}

// signInRetryStatuses are the statuses azcore retries by default.
var signInRetryStatuses = []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// credential builds the token credential from a validated configuration.
func (c *Config) credential(ep Endpoints) (azcore.TokenCredential, error) {
	if c.Credential != nil {
		return c.Credential, nil
	}
	opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: ep.Authority}}
	if c.AuthorityHost != "" {
		opts.Cloud.ActiveDirectoryAuthorityHost = c.AuthorityHost
		// A test or private authority has no instance discovery endpoint.
	}
	if c.HTTPClient != nil {
		opts.Transport = c.HTTPClient
	}
	// azcore's retry statuses, and transport errors except an untrusted
	// certificate, which no retry makes trusted: the admin hears at once.
	opts.Retry.ShouldRetry = func(resp *http.Response, err error) bool {
		if err != nil {
			return tlsFailure(err, err.Error()) == ""
		}
		return slices.Contains(signInRetryStatuses, resp.StatusCode)
	}
	disco := c.AuthorityHost != ""
	if !c.ClientSecret.IsZero() {
		return azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret.Reveal(),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disco})
	}
	certs, key, err := parseCertificate(c.Certificate, c.CertificatePassword.Reveal())
	if err != nil {
		return nil, err
	}
	return azidentity.NewClientCertificateCredential(c.TenantID, c.ClientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disco, SendCertificateChain: true})
}
