package ldap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/leaktest"
	adldap "github.com/psasync/adsync/source/ldap"
)

const testPEM = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw
DgYDVQQKEwdBY21lIENvMB4XDTE3MTAyMDE5NDMwNloXDTE4MTAyMDE5NDMwNlow
EjEQMA4GA1UEChMHQWNtZSBDbzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABD0d
7VNhbWvZLWPuj/RtHFjvtJBEwOkhbN/BnnE8rnZR8+sbwnc/KhCk3FhnpHZnQz7B
5aETbbIgmuvewdjvSBSjYzBhMA4GA1UdDwEB/wQEAwICpDATBgNVHSUEDDAKBggr
BgEFBQcDATAPBgNVHRMBAf8EBTADAQH/MCkGA1UdEQQiMCCCDmxvY2FsaG9zdDo1
NDUzgg4xMjcuMC4wLjE6NTQ1MzAKBggqhkjOPQQDAgNIADBFAiEA2zpJEPQyz6/l
Wf86aX6PepsntZv2GYlA5UpabfT2EZICICpJ5h/iI+i341gBmLiAFQOyTDT+/wQc
6MF9+Yw1Yy0t
-----END CERTIFICATE-----`

func validConfig() adldap.Config {
	return adldap.Config{
		URL: "ldaps://dc1.corp.example", BindName: "svc-sync@corp.example", Password: adsync.NewSecret("s3cret-Pa55"),
		BaseDN: "DC=corp,DC=example",
	}
}

// Validate names the bad field before any connection (R-SCOPE-5).
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*adldap.Config)
		field string // "" = valid
	}{
		{"valid ldaps", func(c *adldap.Config) {}, ""},
		{"ldap with StartTLS", func(c *adldap.Config) { c.URL, c.StartTLS = "ldap://dc1.corp.example", true }, ""},
		{"plaintext ldap refused", func(c *adldap.Config) { c.URL = "ldap://dc1.corp.example" }, "url"},
		{"plaintext ldap with the test-only switch", func(c *adldap.Config) { c.URL, c.AllowPlaintext = "ldap://127.0.0.1", true }, ""},
		{"StartTLS on ldaps", func(c *adldap.Config) { c.StartTLS = true }, "startTLS"},
		{"other scheme", func(c *adldap.Config) { c.URL = "https://dc1" }, "url"},
		{"no URL", func(c *adldap.Config) { c.URL = "" }, "url"},
		{"URL with a path", func(c *adldap.Config) { c.URL = "ldaps://dc1/DC=corp" }, "url"},
		{"bad port", func(c *adldap.Config) { c.URL = "ldaps://dc1:70000" }, "url"},
		{"no bind name", func(c *adldap.Config) { c.BindName = " " }, "bindName"},
		{"no password (anonymous bind)", func(c *adldap.Config) { c.Password = adsync.Secret{} }, "password"},
		{"no base DN", func(c *adldap.Config) { c.BaseDN = "" }, "baseDN"},
		{"malformed base DN", func(c *adldap.Config) { c.BaseDN = "corp.example" }, "baseDN"},
		{"malformed group DN", func(c *adldap.Config) { c.GroupDN = "CN=Sales,DC" }, "groupDN"},
		{"group DN with escaped parentheses", func(c *adldap.Config) { c.GroupDN = "CN=Sales (EU),DC=corp,DC=example" }, ""},
		{"OU under base", func(c *adldap.Config) { c.OUs = []string{"OU=Staff,DC=corp,DC=example"} }, ""},
		{"OU outside base", func(c *adldap.Config) { c.OUs = []string{"OU=Staff,DC=other,DC=example"} }, "ous[0]"},
		{"malformed OU", func(c *adldap.Config) { c.OUs = []string{"OU=Staff,DC=corp,DC=example", "Staff"} }, "ous[1]"},
		{"R-SCOPE-5 malformed raw filter", func(c *adldap.Config) { c.Filter = "(&(department=Sales)" }, "filter"},
		{"R-SCOPE-5 raw filter without parentheses", func(c *adldap.Config) { c.Filter = "department=Sales" }, ""},
		{"page size too large", func(c *adldap.Config) { c.PageSize = 1001 }, "pageSize"},
		{"page size 1000", func(c *adldap.Config) { c.PageSize = 1000 }, ""},
		{"negative timeout", func(c *adldap.Config) { c.Timeout = -1 }, "timeout"},
		{"unknown verify mode", func(c *adldap.Config) { c.TLS.Verify = "none" }, "tls.verify"},
		{"chain-only without a CA", func(c *adldap.Config) { c.TLS.Verify = adldap.VerifyChainOnly }, "tls.ca"},
		{"chain-only with PEM text", func(c *adldap.Config) { c.TLS.Verify, c.TLS.CA = adldap.VerifyChainOnly, testPEM }, ""},
		{"CA file missing", func(c *adldap.Config) { c.TLS.CA = "/nonexistent/ca.pem" }, "tls.ca"},
		{"CA text without a certificate", func(c *adldap.Config) { c.TLS.CA = "-----BEGIN CERTIFICATE-----\nxx" }, "tls.ca"},
		{"CA with a negative serial number", func(c *adldap.Config) { c.TLS.CA = "../../testdata/ldap/negative-serial-ca.pem" }, "tls.ca"},
		{"attribute override", func(c *adldap.Config) { c.Attributes = map[adsync.Field]string{adsync.MiddleInitial: "middleName"} }, ""},
		{"bad attribute override", func(c *adldap.Config) { c.Attributes = map[adsync.Field]string{adsync.Title: "title)(x=*"} }, "attributes.title"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				_, err := adldap.New(cfg)
				require.NoError(t, err)
				return
			}
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.ErrorIs(t, err, adsync.ErrInvalidConfig)
			_, err = adldap.New(cfg)
			assert.ErrorIs(t, err, adsync.ErrInvalidConfig)
		})
	}
}

// The scope filter: the fixed user filter, the group (escaped, nested by
// default) and the raw filter, ANDed (R-SCOPE-5). Disabled accounts are not
// filtered out: the Syncer applies the organization's policy (R-SCOPE-8).
func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*adldap.Config)
		want string
	}{
		{"R-SCOPE-8 disabled accounts read too", func(c *adldap.Config) {},
			"(&(objectCategory=person)(objectClass=user))"},
		{"R-SCOPE-5 nested group, DN escaped", func(c *adldap.Config) {
			c.GroupDN = `CN=Sales (EU)*,DC=corp,DC=example`
		}, `(&(objectCategory=person)(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=Sales \28EU\29\2a,DC=corp,DC=example))`},
		{"R-SCOPE-5 direct members", func(c *adldap.Config) {
			c.GroupDN, c.DirectMembersOnly = "CN=G,DC=corp,DC=example", true
		}, `(&(objectCategory=person)(objectClass=user)(memberOf=CN=G,DC=corp,DC=example))`},
		{"R-SCOPE-5 raw filter ANDed", func(c *adldap.Config) { c.Filter = "department=Sales" },
			`(&(objectCategory=person)(objectClass=user)(department=Sales))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.edit(&cfg)
			src, err := adldap.New(cfg)
			require.NoError(t, err)
			assert.Equal(t, tc.want, src.Filter())
		})
	}
}

// TestNoSecretLeaks formats the Config and the Source, as values and as
// pointers, every way internal/leaktest knows, and finds the password in
// none of them.
func TestNoSecretLeaks(t *testing.T) {
	cfg := validConfig()
	src, err := adldap.New(cfg)
	require.NoError(t, err)
	for what, v := range map[string]any{"Config": cfg, "*Config": &cfg, "Source": *src, "*Source": src, "Secret": cfg.Password} {
		assert.Empty(t, leaktest.Find(v, cfg.Password.Reveal()), "%s leaks the password", what)
	}
	assert.Contains(t, fmt.Sprintf("%v", cfg), "svc-sync@corp.example", "the rest of the configuration shows")
}

func TestBindProblem(t *testing.T) {
	for msg, want := range map[string]string{
		"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1": "wrong password (or unknown account)",
		"80090308: LdapErr: DSID-0C09030B, comment: AcceptSecurityContext error, data 775, v893":  "the account is locked out",
		"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 532, v1db1": "the password has expired",
		"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 533, v1db1": "the account is disabled",
		"invalid credentials": "",
	} {
		assert.Equal(t, want, adldap.BindProblem(msg), msg)
	}
}

func TestGUIDString(t *testing.T) {
	// MS-DTYP 2.3.4: the first three fields are little-endian.
	b := []byte{0x3c, 0x1e, 0xc9, 0x9c, 0xee, 0xe9, 0x89, 0x4c, 0xb2, 0xea, 0x90, 0x3b, 0xbc, 0x22, 0x59, 0x8f}
	assert.Equal(t, "9cc91e3c-e9ee-4c89-b2ea-903bbc22598f", adldap.GUIDString(b))
	assert.Equal(t, "", adldap.GUIDString(b[:15]))
}

// An *Error matches its kind and its cause, and says what failed once,
// with the package's prefix.
func TestErrorShape(t *testing.T) {
	cause := errors.New("x509: certificate has expired")
	err := fmt.Errorf("adsync: check the directory of %q: %w", "acme",
		&adldap.Error{Op: "TLS handshake with dc1:636", Kind: adsync.ErrTLS, Err: cause, TLS: adsync.TLSExpired, Message: "expired"})
	assert.ErrorIs(t, err, adsync.ErrTLS)
	assert.ErrorIs(t, err, cause)
	assert.True(t, adsync.IsSystemic(err))
	assert.Equal(t, `adsync: check the directory of "acme": ldap: TLS handshake with dc1:636: expired`, err.Error())
	var le *adldap.Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, adsync.TLSExpired, le.TLS)
	assert.Equal(t, "ldap: read the rootDSE: context canceled", (&adldap.Error{Op: "read the rootDSE", Err: context.Canceled}).Error())
}

// A URL with a password in it (ldaps://user:password@dc, as some tools take
// it) is refused, and neither the refusal nor the printed configuration
// shows the password.
func TestURLPasswordNeverShown(t *testing.T) {
	const pw = "url-Pa55word"
	for _, tc := range []struct{ name, url, wantProblem string }{
		{"ldaps with userinfo", "ldaps://svc-sync:" + pw + "@dc1.corp.example", "the password in password"},
		{"plain ldap with userinfo", "ldap://svc-sync:" + pw + "@dc1.corp.example", "the password in password"},
		{"unparsable with userinfo", "ldaps://svc-sync:" + pw + "@dc1.corp.example:6%36", "is not a URL"},
		{"no host", "ldaps://svc-sync:" + pw + "@", "has no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			cfg.URL = tc.url
			err := cfg.Validate()
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "url", ce.Field)
			assert.Contains(t, ce.Problem, tc.wantProblem)
			var logged bytes.Buffer
			slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg)
			js, jerr := json.Marshal(cfg)
			require.NoError(t, jerr)
			for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%v", cfg), fmt.Sprintf("%#v", cfg),
				logged.String(), string(js)} {
				assert.NotContains(t, s, pw)
			}
			assert.Contains(t, err.Error(), "ldap", "the message still shows which URL")
			assert.Contains(t, err.Error(), "svc-sync", "the message still shows which URL")
		})
	}
}
