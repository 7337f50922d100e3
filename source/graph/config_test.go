package graph_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/leaktest"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
)

const gid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"

func validConfig() graph.Config {
	return graph.Config{TenantID: tenant, ClientID: client, ClientSecret: adsync.NewSecret(secret), GroupID: gid}
}

// selfSignedPEM is a certificate and its private key, PEM-encoded: RSA,
// unless ec is set.
func selfSignedPEM(t *testing.T, ec bool) []byte {
	t.Helper()
	var key crypto.Signer
	var err error
	if ec {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "adsync"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der}))
	require.NoError(t, pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	return b.Bytes()
}

func TestValidate(t *testing.T) {
	cert := selfSignedPEM(t, false)
	tests := []struct {
		name   string
		change func(*graph.Config)
		field  string // "" = valid
	}{
		{"valid with a secret", func(*graph.Config) {}, ""},
		{"valid with a PEM certificate", func(c *graph.Config) { c.ClientSecret, c.Certificate = adsync.Secret{}, cert }, ""},
		{"valid with a domain as tenant", func(c *graph.Config) { c.TenantID = "contoso.onmicrosoft.com" }, ""},
		{"valid in every cloud", func(c *graph.Config) { c.Cloud = graph.CloudUSGovDoD }, ""},
		{"valid with an injected credential only", func(c *graph.Config) {
			*c = graph.Config{GroupID: gid, Credential: graph.StaticToken("x"), BaseURL: "http://127.0.0.1:1/v1.0"}
		}, ""},
		{"missing tenant", func(c *graph.Config) { c.TenantID = "" }, "tenantId"},
		{"bad tenant", func(c *graph.Config) { c.TenantID = "not a tenant!" }, "tenantId"},
		{"missing client id", func(c *graph.Config) { c.ClientID = "" }, "clientId"},
		{"client id not a GUID", func(c *graph.Config) { c.ClientID = "my-app" }, "clientId"},
		{"no secret nor certificate", func(c *graph.Config) { c.ClientSecret = adsync.Secret{} }, "clientSecret"},
		{"both secret and certificate", func(c *graph.Config) { c.Certificate = cert }, "certificate"},
		{"unreadable certificate", func(c *graph.Config) { c.ClientSecret, c.Certificate = adsync.Secret{}, []byte("garbage") }, "certificate"},
		{"certificate with a non-RSA key", func(c *graph.Config) { c.ClientSecret, c.Certificate = adsync.Secret{}, selfSignedPEM(t, true) }, "certificate"},
		{"unknown cloud", func(c *graph.Config) { c.Cloud = "mars" }, "cloud"},
		{"R-SCOPE-3 missing group", func(c *graph.Config) { c.GroupID = "" }, "groupId"},
		{"R-SCOPE-3 group name instead of id", func(c *graph.Config) { c.GroupID = "All Staff" }, "groupId"},
		{"bad property override", func(c *graph.Config) { c.Properties = map[adsync.Field]string{adsync.Title: "job title"} }, "properties.title"},
		{"retries out of range", func(c *graph.Config) { c.MaxRetries = 11 }, "maxRetries"},
		{"plain http to a remote Graph", func(c *graph.Config) { c.BaseURL = "http://graph.example.com/v1.0" }, "baseUrl"},
		{"authority not https", func(c *graph.Config) { c.AuthorityHost = "http://login.example.com/" }, "authorityHost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			err := c.Validate()
			_, newErr := graph.New(c)
			if tt.field == "" {
				require.NoError(t, err)
				require.NoError(t, newErr)
				return
			}
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
			require.ErrorIs(t, newErr, adsync.ErrInvalidConfig)
		})
	}
}

func TestSecretsRedacted(t *testing.T) {
	c := validConfig()
	c.CertificatePassword = adsync.NewSecret("pkcs12-password")
	var logs, textLogs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", c)
	slog.New(slog.NewTextHandler(&textLogs, nil)).Info("config", "cfg", c)
	js, err := json.Marshal(c)
	require.NoError(t, err)
	jsPtr, err := json.Marshal(struct{ Azure *graph.Config }{&c}) // nested, as in a caller's configuration
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v", &c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), logs.String(),
		textLogs.String(), string(js), string(jsPtr)} {
		assert.NotContains(t, s, secret)
		assert.NotContains(t, s, "pkcs12-password")
		assert.Contains(t, s, client, "the rest stays readable")
	}
	c.ClientSecret, c.Certificate = adsync.Secret{}, selfSignedPEM(t, false)
	assert.NotContains(t, fmt.Sprint(c), "PRIVATE KEY")
	assert.Contains(t, fmt.Sprint(c), "redacted")
	js, err = json.Marshal(c)
	require.NoError(t, err)
	assert.NotContains(t, string(js), base64.StdEncoding.EncodeToString(c.Certificate[:30]), "the private key stays out of JSON")
	assert.NotContains(t, string(js), "pkcs12-password")
	assert.Contains(t, string(js), gid)
}

// TestSourceSecretsRedacted formats a Source every way fmt and slog can
// (issue #10 point 12): the wrapper holds the configuration and the
// credential built from it, and neither may leak through %#v.
func TestSourceSecretsRedacted(t *testing.T) {
	pemData := selfSignedPEM(t, false)
	keyPart := pemData[len(pemData)-120 : len(pemData)-80] // inside the private key's base64
	for _, tt := range []struct {
		name string
		cfg  func(*graph.Config)
	}{
		{"client secret", func(*graph.Config) {}},
		{"certificate", func(c *graph.Config) { c.ClientSecret, c.Certificate = adsync.Secret{}, pemData }},
		{"PKCS#12 certificate", func(c *graph.Config) {
			c.ClientSecret, c.Certificate, c.CertificatePassword = adsync.Secret{}, pkcs12(t, pemData, "pkcs12-password", false), adsync.NewSecret("pkcs12-password")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.cfg(&c)
			src, err := graph.New(c)
			require.NoError(t, err)
			var logs bytes.Buffer
			slog.New(slog.NewTextHandler(&logs, nil)).Info("source", "src", src)
			for _, s := range []string{fmt.Sprint(src), fmt.Sprintf("%v", src), fmt.Sprintf("%+v", src), fmt.Sprintf("%#v", src),
				fmt.Sprintf("%s", src), fmt.Sprintf("%v", *src), fmt.Sprintf("%+v", *src), fmt.Sprintf("%#v", *src),
				fmt.Sprintf("%d", src), fmt.Sprintf("%#v", []*graph.Source{src}), fmt.Sprintf("%+v", []graph.Source{*src}),
				logs.String()} {
				assert.NotContains(t, s, secret)
				assert.NotContains(t, s, "pkcs12-password")
				assert.NotContains(t, s, "PRIVATE KEY")
				assert.NotContains(t, s, string(keyPart))
				assert.NotContains(t, s, fmt.Sprint(keyPart))
				assert.NotContains(t, s, fmt.Sprintf("%#v", keyPart)[len("[]byte{"):60])
				assert.Contains(t, s, "graph", "the rest stays readable")
			}
			assert.Contains(t, fmt.Sprintf("%#v", src), gid)
		})
	}
}

func TestCloudEndpoints(t *testing.T) {
	for c, root := range map[graph.Cloud]string{
		"":                  "https://graph.microsoft.com/v1.0",
		graph.CloudPublic:   "https://graph.microsoft.com/v1.0",
		graph.CloudUSGov:    "https://graph.microsoft.us/v1.0",
		graph.CloudUSGovDoD: "https://dod-graph.microsoft.us/v1.0",
		graph.CloudChina:    "https://microsoftgraph.chinacloudapi.cn/v1.0",
	} {
		ep, ok := c.Endpoints()
		require.True(t, ok)
		assert.Equal(t, root, ep.GraphRoot)
		assert.Equal(t, root[:len(root)-len("v1.0")]+".default", ep.Scope)
		assert.NotEmpty(t, ep.Authority)
	}
	_, ok := graph.Cloud("mars").Endpoints()
	assert.False(t, ok)
}

// The logger sees what was read and why a read failed, never a secret.
func TestLogging(t *testing.T) {
	srv := graphtest.NewTLSServer()
	t.Cleanup(srv.Close)
	srv.AddApp(tenant, client, "the-right-secret")
	gid := srv.AddGroup("", "Staff")
	srv.AddMembers(gid, srv.PutUser(graphtest.User{UserPrincipalName: "a@contoso.example", DisplayName: "A"}))
	var logs bytes.Buffer
	cfg := graph.Config{TenantID: tenant, ClientID: client, ClientSecret: adsync.NewSecret("the-right-secret"), GroupID: gid,
		BaseURL: srv.GraphURL(), AuthorityHost: srv.URL() + "/", HTTPClient: srv.Client(),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	src, err := graph.New(cfg)
	require.NoError(t, err)
	require.NoError(t, src.Users(context.Background(), func([]adsync.User) error { return nil }))
	assert.Contains(t, logs.String(), "users=1")

	cfg.ClientSecret = adsync.NewSecret("a-wrong-secret")
	src, err = graph.New(cfg)
	require.NoError(t, err)
	require.Error(t, src.Users(context.Background(), func([]adsync.User) error { return nil }))
	assert.Contains(t, logs.String(), "AADSTS7000215")
	assert.NotContains(t, logs.String(), "secret\"") // no secret-valued attribute
	assert.NotContains(t, logs.String(), "the-right-secret")
	assert.NotContains(t, logs.String(), "a-wrong-secret")
}

// A client secret pasted into clientId or tenantId (the fields sit next to
// each other on the portal) is refused without being repeated: the message
// goes to logs. A mistyped id is still shown, to be spotted.
func TestSecretPastedIntoIDField(t *testing.T) {
	const pasted = "Qx58Q~aBcDeFgHiJkLmNoPqRsTuVwXyZ.0123456"
	for _, tc := range []struct {
		name, field string
		edit        func(*graph.Config, string)
		typo        string
	}{
		{"clientId", "clientId", func(c *graph.Config, v string) { c.ClientID = v }, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4"},
		{"tenantId", "tenantId", func(c *graph.Config, v string) { c.TenantID = v }, "contoso.onmicrosoft"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := graph.Config{TenantID: tenant, ClientID: client, ClientSecret: adsync.NewSecret(secret), GroupID: gid}
			tc.edit(&c, pasted)
			err := c.Validate()
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.NotContains(t, err.Error(), pasted)
			assert.NotContains(t, err.Error(), "aBcDeFgHiJ", "not even a part")
			assert.Contains(t, err.Error(), "secret", "says why it is not shown")

			c = graph.Config{TenantID: tenant, ClientID: client, ClientSecret: adsync.NewSecret(secret), GroupID: gid}
			tc.edit(&c, tc.typo)
			if err := c.Validate(); tc.field == "clientId" {
				require.ErrorAs(t, err, &ce)
				assert.Contains(t, err.Error(), tc.typo, "a mistyped id is shown")
			}
		})
	}
}

// TestNoSecretLeaks formats the Config and the Source, as values and as
// pointers, every way internal/leaktest knows, with each kind of credential,
// and finds none of the secrets.
func TestNoSecretLeaks(t *testing.T) {
	pemData := selfSignedPEM(t, false)
	keyPart := string(pemData[len(pemData)-120 : len(pemData)-80]) // inside the private key's base64
	for _, tt := range []struct {
		name    string
		cfg     func(*graph.Config)
		secrets []string
	}{
		{"client secret", func(*graph.Config) {}, []string{secret}},
		{"PEM certificate", func(c *graph.Config) { c.ClientSecret, c.Certificate = adsync.Secret{}, pemData },
			// The key as text, and as fmt prints a []byte with %v and %#v.
			[]string{keyPart, "PRIVATE KEY", fmt.Sprint([]byte(keyPart))[1:60], fmt.Sprintf("%#v", []byte(keyPart))[len("[]byte{"):60]}},
		{"PKCS#12 certificate", func(c *graph.Config) {
			c.ClientSecret, c.Certificate, c.CertificatePassword = adsync.Secret{}, pkcs12(t, pemData, "pkcs12-password", false), adsync.NewSecret("pkcs12-password")
		}, []string{"pkcs12-password"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.cfg(&c)
			src, err := graph.New(c)
			require.NoError(t, err)
			for what, v := range map[string]any{"Config": c, "*Config": &c, "Source": *src, "*Source": src} {
				for _, s := range tt.secrets {
					assert.Empty(t, leaktest.Find(v, s), "%s leaks %q", what, s)
				}
			}
		})
	}
}

// An *Error matches its kind and its cause, and says what failed once,
// with the package's prefix.
func TestErrorShape(t *testing.T) {
	err := fmt.Errorf("adsync: check the directory of %q: %w", "acme",
		&graph.Error{Op: "reading the members of group " + gid, Kind: adsync.ErrUnavailable, Err: context.Canceled})
	assert.ErrorIs(t, err, adsync.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, `adsync: check the directory of "acme": graph: reading the members of group `+gid+`: context canceled`, err.Error())
}
