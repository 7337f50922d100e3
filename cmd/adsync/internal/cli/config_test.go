package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/config"
)

const validLDAP = `autotask:
  username: api-user@example.com
  integrationCode: CODE
  secretEnv: AT_SECRET
  zoneLookupUrl: ZONE
orgs:
  - id: fabrikam
    name: Fabrikam
    companyId: 175
    billingProductId: 12
    fields: [title, phone, {field: middleInitial, source: middleName}]
    guard: {min: 5, percent: 10}
    ldap:
      url: ldaps://dc1.fabrikam.example:636
      bindName: svc-adsync@fabrikam.example
      passwordFile: ldap-password
      baseDN: DC=fabrikam,DC=example
      filter: (department=Sales)
      tls: {verify: chain-only, ca: ca.pem}
`

// writeConfig writes a configuration (ZONE replaced by the emulator's zone
// lookup URL) and the files it refers to into a temporary directory.
func writeConfig(t *testing.T, text, zone string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ldap-password"), []byte("s3cret-ldap\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.pem"), testCA(t), 0o600))
	path := filepath.Join(dir, "adsync.yaml")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(text, "ZONE", zone)), 0o600))
	return path
}

func TestLoadConfig(t *testing.T) {
	path := writeConfig(t, validLDAP, "https://webservices.autotask.net/atservicesrest/")
	cfg, err := config.Load(path, &config.Options{Getenv: func(k string) string { return map[string]string{"AT_SECRET": "at-secret"}[k] }})
	require.NoError(t, err)
	require.Len(t, cfg.Organizations, 1)
	o := cfg.Organizations[0]
	assert.Equal(t, "at-secret", cfg.Autotask.Secret.Reveal())
	assert.Equal(t, adsync.DirectoryLDAP, o.Config.Directory)
	assert.True(t, o.Config.Enabled, "enabled by default")
	assert.Equal(t, int64(12), o.Config.BillingProductID)
	assert.Equal(t, adsync.Guard{Min: 5, Percent: 10}, o.Config.Guard)
	assert.Equal(t, adsync.NewFieldSet(adsync.FirstName, adsync.LastName, adsync.Email, adsync.Title, adsync.Phone, adsync.MiddleInitial), o.Config.Selected(), "R-FIELD-2")
	require.IsType(t, &config.LDAP{}, o.Directory)
	lc := o.Directory.(*config.LDAP).Config
	assert.Equal(t, "s3cret-ldap", lc.Password.Reveal(), "secret file read, newline trimmed")
	assert.Equal(t, "middleName", lc.Attributes[adsync.MiddleInitial])
	assert.Equal(t, filepath.Join(filepath.Dir(path), "ca.pem"), lc.TLS.CA, "relative to the configuration file")
}

// TestBadInput: every bad input exits 2 with the file, the line, the setting
// and the fix, before anything is written: no history file, no request to
// Autotask.
func TestBadInput(t *testing.T) {
	at := autotasktest.NewServer(autotasktest.Options{})
	t.Cleanup(at.Close)
	env := map[string]string{"AT_SECRET": at.Credentials().Secret}
	replace := func(old, new string) string { return strings.Replace(validLDAP, old, new, 1) }
	cases := []struct {
		name   string
		config string
		args   []string
		want   []string // substrings of the message
	}{
		{"unknown key", replace("      filter:", "      filtre:"), nil,
			[]string{"adsync.yaml:18: orgs[0].ldap.filtre: unknown key \"filtre\" (did you mean \"filter\"?)"}},
		{"unknown top-level key", "autotsk: {}\n" + validLDAP, nil, []string{"adsync.yaml:1: autotsk: unknown key", "did you mean \"autotask\""}},
		{"missing base DN", replace("      baseDN: DC=fabrikam,DC=example\n", ""), nil,
			[]string{"orgs[0].ldap.baseDN: required: the subtree to search"}},
		{"missing company", replace("    companyId: 175\n", ""), nil, []string{"orgs[0].companyId: required"}},
		{"R-SCOPE-2 two configurations for one company", validLDAP + strings.Replace(strings.SplitAfter(validLDAP, "orgs:\n")[1], "fabrikam\n", "fabrikam2\n", 1), nil,
			[]string{"adsync.yaml:22: orgs[1].companyId: company 175 is already configured by orgs[0] (fabrikam): one configuration per company"}},
		{"unreadable secret file", replace("passwordFile: ldap-password", "passwordFile: /nonexistent/pw"), nil,
			[]string{"adsync.yaml:16: orgs[0].ldap.passwordFile: cannot read the secret file /nonexistent/pw", "no such file"}},
		{"R-SCOPE-5 malformed LDAP filter", replace("(department=Sales)", "(department=Sales"), nil,
			[]string{"adsync.yaml:18: orgs[0].ldap.filter:", "not a valid LDAP filter"}},
		{"inline secret refused", replace("secretEnv: AT_SECRET", "secret: hunter2"), nil,
			[]string{"autotask.secret: secrets are not written in the configuration file; use secretEnv: VARIABLE"}},
		{"secret variable not set", replace("secretEnv: AT_SECRET", "secretEnv: NOT_SET"), nil,
			[]string{"autotask.secretEnv: the environment variable NOT_SET is not set or empty"}},
		{"wrong type", replace("companyId: 175", "companyId: abc"), nil, []string{"adsync.yaml:9: orgs[0].companyId:", "cannot unmarshal"}},
		{"no directory", strings.Split(validLDAP, "    ldap:")[0], nil, []string{"orgs[0]: no directory: add", "ldap (Active Directory over LDAPS)"}},
		{"unknown field", replace("[title,", "[titel,"), nil, []string{"orgs[0].fields[0]: unknown field \"titel\"; the fields are: firstName"}},
		{"both directories", validLDAP + "    azure: {groupId: x}\n", nil, []string{"orgs[0].azure: an organization has one directory"}},
		{"unknown organization", validLDAP, []string{"--org", "nope"}, []string{"--org: no organization \"nope\"", "the ids are: fabrikam"}},
		{"bad store", validLDAP, []string{"--store", "mysql:x"}, []string{"--store: \"mysql:x\": want sqlite:PATH or postgres:DSN"}},
		{"bad guard", replace("percent: 10", "percent: 150"), nil, []string{"orgs[0].guard.percent: must be between 0 and 100"}},
		// #10 point 11: YAML's floats truncated into integers, NaN and
		// infinities, explicit zeros meaning a default, secrets in clear.
		{"float in an integer setting", replace("companyId: 175", "companyId: 17.4"), nil,
			[]string{"adsync.yaml:9: orgs[0].companyId: want a whole number, got 17.4"}},
		{"NaN guard percent", replace("percent: 10", "percent: .nan"), nil,
			[]string{"adsync.yaml:12: orgs[0].guard.percent: want a finite number, got .nan"}},
		{"infinite budget stop", replace("  zoneLookupUrl: ZONE\n", "  zoneLookupUrl: ZONE\n  budgetStop: .inf\n"), nil,
			[]string{"adsync.yaml:6: autotask.budgetStop: want a finite number, got .inf"}},
		{"NaN budget share", replace("  zoneLookupUrl: ZONE\n", "  zoneLookupUrl: ZONE\n  budgetShare: .NaN\n"), nil,
			[]string{"adsync.yaml:6: autotask.budgetShare: want a finite number, got .NaN"}},
		{"explicit zero guard", replace("guard: {min: 5, percent: 10}", "guard: {min: 0, percent: 0}"), nil,
			[]string{"adsync.yaml:12: orgs[0].guard.min: 0 is refused", "off: true"}},
		{"explicit zero guard percent", replace("guard: {min: 5, percent: 10}", "guard: {min: 5, percent: 0}"), nil,
			[]string{"adsync.yaml:12: orgs[0].guard.percent: 0 is refused"}},
		{"explicit zero budget share", replace("  zoneLookupUrl: ZONE\n", "  zoneLookupUrl: ZONE\n  budgetShare: 0\n"), nil,
			[]string{"adsync.yaml:6: autotask.budgetShare: 0 is refused"}},
		{"Autotask zone lookup over http", replace("zoneLookupUrl: ZONE", "zoneLookupUrl: http://webservices.autotask.net/atservicesrest/"), nil,
			[]string{"adsync.yaml:5: autotask.zoneLookupUrl: http:// would send the API secret in clear", "https://"}},
		{"Autotask base over http", replace("  zoneLookupUrl: ZONE\n", "  baseUrl: http://webservices3.autotask.net/ATServicesRest/\n"), nil,
			[]string{"adsync.yaml:5: autotask.baseUrl: http:// would send the API secret in clear"}},
		// #10 point 13.
		{"empty file", "", nil, []string{"adsync.yaml: the file is empty"}},
		{"comments only", "# adsync configuration\n\n# to do\n", nil, []string{"adsync.yaml: the file is empty"}},
	}
	// A missing secret is bad input only for the commands that connect:
	// status reads the history only.
	missingSecret := map[string]bool{"unreadable secret file": true, "secret variable not set": true}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.config, at.ZoneLookupURL())
			db := filepath.Join(t.TempDir(), "history.db")
			for _, cmd := range []string{"sync", "plan", "check", "status"} {
				if missingSecret[tc.name] && cmd == "status" {
					continue
				}
				at.ResetRequests()
				args := append([]string{cmd, "--config", path}, tc.args...)
				if !hasFlag(tc.args, "--store") {
					args = append(args, "--store", "sqlite:"+db)
				}
				r := invocation{env: env}.run(t, args...)
				assert.Equal(t, ExitUsage, r.code, "%s: %s", cmd, r.stderr)
				for _, w := range tc.want {
					assert.Contains(t, r.stderr, w, cmd)
				}
				assert.Empty(t, r.stdout, cmd)
				assert.NoFileExists(t, db, "%s: nothing is written", cmd)
				assert.Empty(t, at.Requests(), "%s: no call to Autotask", cmd)
			}
			t.Log(r0(t, tc.config, at, env, tc.args))
		})
	}
}

// r0 returns the message of a plan with the configuration, for the test log:
// what an admin reads.
func r0(t *testing.T, config string, at *autotasktest.Server, env map[string]string, args []string) string {
	path := writeConfig(t, config, at.ZoneLookupURL())
	return invocation{env: env}.run(t, append([]string{"plan", "--config", path, "--store", "sqlite:" + filepath.Join(t.TempDir(), "h.db")}, args...)...).stderr
}

func hasFlag(args []string, f string) bool {
	for _, a := range args {
		if a == f {
			return true
		}
	}
	return false
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"sync", "--bogus"}, {"sync", "extra"}, {"--log-level", "loud", "status"},
		{"approve"}, {"conflicts", "resolve", "--org", "x"}, {"conflicts", "bogus"}, {"demo", "--users", "5"}} {
		r := invocation{}.run(t, args...)
		assert.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
		assert.NotEmpty(t, r.stderr, "%v", args)
	}
	for _, args := range [][]string{{"help"}, {"--help"}} {
		r := invocation{}.run(t, args...)
		assert.Equal(t, ExitOK, r.code, "%v", args)
		assert.Contains(t, r.stdout, "adsync demo", "%v", args)
	}
}

func TestRedactDSN(t *testing.T) {
	assert.Equal(t, "postgres://u:xxxxx@db/adsync", config.RedactDSN("postgres://u:pw@db/adsync"))
	assert.Equal(t, "host=db password=xxxxx", config.RedactDSN("host=db password=pw"))
}

// testCA returns a self-signed CA certificate in PEM, only parsed.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestExampleConfig: examples/adsync.yaml, the documented starting point,
// loads once its secrets exist.
func TestExampleConfig(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("../../../../examples/adsync.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "adsync.yaml"), data, 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "secrets"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", "fabrikam-ldap"), []byte("pw"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fabrikam-ca.pem"), testCA(t), 0o600))
	env := map[string]string{"AUTOTASK_SECRET": "s", "CONTOSO_GRAPH_SECRET": "g"}
	cfg, err := config.Load(filepath.Join(dir, "adsync.yaml"), &config.Options{Getenv: func(k string) string { return env[k] }})
	require.NoError(t, err)
	assert.Equal(t, []string{"contoso", "fabrikam"}, cfg.IDs())
	assert.Equal(t, adsync.DirectoryAzure, cfg.Organizations[0].Config.Directory)
	assert.Equal(t, adsync.DirectoryLDAP, cfg.Organizations[1].Config.Directory)
}
