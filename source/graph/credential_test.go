package graph_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
)

const (
	tenant = "8f0c2e3a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
	client = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	secret = "s3cr3t~value.from-the-portal"
)

// TestSignIn drives the real azidentity client-secret credential against
// the emulator's token endpoint (over TLS, as MSAL requires), so each
// AADSTS error reaches Check as it would from Entra ID.
func TestSignIn(t *testing.T) {
	tests := []struct {
		name     string
		tenant   string
		client   string
		secret   string
		expire   bool
		kind     error
		contains []string
	}{
		{name: "ok", tenant: tenant, client: client, secret: secret},
		{name: "unknown tenant", tenant: "00000000-0000-4000-8000-000000000000", client: client, secret: secret,
			kind: adsync.ErrUnauthorized, contains: []string{"AADSTS90002", "tenant not found", "tenantId"}},
		{name: "bad client id", tenant: tenant, client: "11111111-0000-4000-8000-000000000000", secret: secret,
			kind: adsync.ErrUnauthorized, contains: []string{"AADSTS700016", "clientId"}},
		{name: "bad secret", tenant: tenant, client: client, secret: "wrong",
			kind: adsync.ErrUnauthorized, contains: []string{"AADSTS7000215", "Value, not its Secret ID"}},
		{name: "expired secret", tenant: tenant, client: client, secret: secret, expire: true,
			kind: adsync.ErrUnauthorized, contains: []string{"AADSTS7000222", "expired", "new client secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := graphtest.NewTLSServer()
			t.Cleanup(srv.Close)
			srv.AddApp(tenant, client, secret)
			if tt.expire {
				srv.ExpireSecret(tenant, client)
			}
			gid := srv.AddGroup("", "Staff")
			uid := srv.PutUser(graphtest.User{UserPrincipalName: "a@contoso.example", DisplayName: "A"})
			srv.AddMembers(gid, uid)
			srv.RequireToken("only-issued-tokens-work")
			src, err := graph.New(graph.Config{
				TenantID: tt.tenant, ClientID: tt.client, ClientSecret: adsync.NewSecret(tt.secret), GroupID: gid,
				BaseURL: srv.GraphURL(), AuthorityHost: srv.URL() + "/", HTTPClient: srv.Client(),
			})
			require.NoError(t, err)

			_, checkErr := src.Check(context.Background())
			var got []adsync.User
			readErr := src.Users(context.Background(), func(p []adsync.User) error { got = append(got, p...); return nil })
			if tt.kind == nil {
				require.NoError(t, checkErr)
				require.NoError(t, readErr)
				assert.Len(t, got, 1)
				require.NotEmpty(t, srv.TokenScopes())
				assert.Contains(t, strings.Fields(srv.TokenScopes()[0]), srv.URL()+"/.default", "the scope of the Graph host")
				return
			}
			for _, err := range []error{checkErr, readErr} {
				require.ErrorIs(t, err, tt.kind)
				for _, s := range tt.contains {
					assert.Contains(t, err.Error(), s)
				}
				assert.NotContains(t, err.Error(), tt.secret, "R-secrets: never in errors")
				assert.NotContains(t, err.Error(), "\n", "one line")
			}
			assert.Zero(t, srv.CountRequests("/v1.0/"), "no Graph call without a token")
		})
	}
}

// pkcs12 converts a PEM certificate and key into a PKCS#12 file with
// openssl (AES by default in OpenSSL 3, 3DES with legacy), or skips when
// openssl is missing.
func pkcs12(t *testing.T, pemData []byte, password string, legacy bool) []byte {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: cannot make PKCS#12 test files")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pem"), filepath.Join(dir, "out.p12")
	require.NoError(t, os.WriteFile(in, pemData, 0o600))
	args := []string{"pkcs12", "-export", "-in", in, "-out", out, "-passout", "pass:" + password}
	if legacy {
		args = append(args, "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1")
	}
	if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Skipf("openssl cannot make this PKCS#12 file here: %v: %s", err, b)
	}
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	return data
}

func certOf(t *testing.T, pemData []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(pemData)
	require.NotNil(t, b)
	c, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	return c
}

// TestSignInWithCertificate signs in with client certificates through the
// real azidentity credential: MSAL's signed client assertion is verified by
// the emulator against the registered certificate.
func TestSignInWithCertificate(t *testing.T) {
	registered := selfSignedPEM(t, false)
	other := selfSignedPEM(t, false)
	tests := []struct {
		name     string
		cert     func(t *testing.T) ([]byte, string)
		refused  bool
		badInput bool
	}{
		{name: "PEM", cert: func(*testing.T) ([]byte, string) { return registered, "" }},
		{name: "PKCS#12 with AES (OpenSSL 3 default)", cert: func(t *testing.T) ([]byte, string) {
			return pkcs12(t, registered, "p12-pass", false), "p12-pass"
		}},
		{name: "PKCS#12 with 3DES (legacy)", cert: func(t *testing.T) ([]byte, string) {
			return pkcs12(t, registered, "p12-pass", true), "p12-pass"
		}},
		{name: "PKCS#12 with a wrong password", cert: func(t *testing.T) ([]byte, string) {
			return pkcs12(t, registered, "p12-pass", false), "wrong"
		}, badInput: true},
		{name: "a certificate not registered on the app", cert: func(*testing.T) ([]byte, string) { return other, "" }, refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, password := tt.cert(t)
			srv := graphtest.NewTLSServer()
			t.Cleanup(srv.Close)
			srv.AddAppCertificate(tenant, client, certOf(t, registered))
			gid := srv.AddGroup("", "Staff")
			srv.AddMembers(gid, srv.PutUser(graphtest.User{UserPrincipalName: "a@contoso.example", DisplayName: "A"}))
			srv.RequireToken("only-issued-tokens-work")
			cfg := graph.Config{TenantID: tenant, ClientID: client, Certificate: data, CertificatePassword: adsync.NewSecret(password),
				GroupID: gid, BaseURL: srv.GraphURL(), AuthorityHost: srv.URL() + "/", HTTPClient: srv.Client()}
			src, err := graph.New(cfg)
			if tt.badInput {
				var ce *adsync.ConfigError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, "certificate", ce.Field)
				assert.NotContains(t, err.Error(), password)
				return
			}
			require.NoError(t, err)
			_, err = src.Check(context.Background())
			if tt.refused {
				require.ErrorIs(t, err, adsync.ErrUnauthorized)
				assert.Contains(t, err.Error(), "AADSTS700027")
				assert.Contains(t, err.Error(), "upload the certificate")
				return
			}
			require.NoError(t, err)
		})
	}
}
