package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

const azureOrg = `autotask:
  username: api-user@example.com
  integrationCode: CODE
  secretEnv: AT_SECRET
orgs:
  - id: contoso
    companyId: 174
    azure:
      tenantId: contoso.example
`

// A file with an azure organization, loaded by a program that did not
// import graphconfig, says which package to import.
func TestUnregisteredDirectoryKind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "adsync.yaml")
	require.NoError(t, os.WriteFile(path, []byte(azureOrg), 0o600))
	_, err := Load(path, &Options{Getenv: func(string) string { return "s" }})
	require.Error(t, err)
	assert.ErrorIs(t, err, adsync.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "adsync.yaml:8: orgs[0].azure: this program cannot read azure directories: it must import _ \"github.com/psasync/adsync/source/graph/graphconfig\"")
}

func TestRegisterDirectoryTwice(t *testing.T) {
	assert.Panics(t, func() {
		RegisterDirectory("ldap", DirectoryKind{Settings: func() any { return new(ldapYAML) }, Build: buildLDAP})
	})
	assert.Panics(t, func() { RegisterDirectory("incomplete", DirectoryKind{}) })
}

// The config package compiles without the Graph SDK: only
// source/graph/graphconfig brings it in (scripts/test.sh checks every
// package the same way).
func TestNoGraphSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	for _, dep := range strings.Fields(string(out)) {
		for _, sdk := range []string{"msgraph-sdk-go", "kiota", "azidentity"} {
			assert.NotContains(t, dep, sdk, "config depends on the Graph SDK")
		}
	}
}

// HistorySpec: an override wins; the file's relative SQLite path is
// relative to the file; a bare PostgreSQL URL is a postgres store; anything
// else is refused naming the setting.
func TestHistorySpec(t *testing.T) {
	c := &Config{Path: filepath.Join("etc", "adsync", "adsync.yaml")}
	got, err := c.HistorySpec("")
	require.NoError(t, err)
	assert.Equal(t, "sqlite:"+filepath.Join("etc", "adsync", DefaultHistoryFile), got)
	c.Store = "sqlite:h.db"
	got, err = c.HistorySpec("")
	require.NoError(t, err)
	assert.Equal(t, "sqlite:"+filepath.Join("etc", "adsync", "h.db"), got)
	got, err = c.HistorySpec("postgres://u:pw@db/adsync")
	require.NoError(t, err)
	assert.Equal(t, "postgres:postgres://u:pw@db/adsync", got)
	c.Store = "mysql:x"
	_, err = c.HistorySpec("")
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "store", ce.Field)
	_, err = c.HistorySpec("mysql://u:pw@db")
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "", ce.Field, "an override is the caller's to name")
	assert.NotContains(t, err.Error(), "pw@")
}

// A SQLite history whose directory does not exist is refused unless asked
// to create it: an empty history would match every user again.
func TestHistoryMissingDirectory(t *testing.T) {
	c := &Config{Path: "adsync.yaml"}
	spec := "sqlite:" + filepath.Join(t.TempDir(), "missing", "h.db")
	_, err := c.History(t.Context(), spec, nil)
	assert.ErrorIs(t, err, ErrNoHistoryDir)
	h, err := c.History(t.Context(), spec, &HistoryOptions{CreateDir: true})
	require.NoError(t, err)
	require.NoError(t, h.Close())
}

const ldapOrg = `autotask:
  username: api-user@example.com
  integrationCode: CODE
  secretEnv: AT_SECRET
orgs:
  - id: fabrikam
    companyId: 175
    ldap:
      url: ldaps://dc1.fabrikam.example:636
      bindName: svc@fabrikam.example
      passwordFile: ldap-password
      baseDN: DC=fabrikam,DC=example
`

// Every missing secret is reported at once; with OrgsOnly none is needed,
// and no secret or CA file is read, but the clients are refused.
func TestMissingSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "adsync.yaml")
	require.NoError(t, os.WriteFile(path, []byte(ldapOrg), 0o600))
	_, err := Load(path, &Options{Getenv: func(string) string { return "" }})
	var es Errors
	require.ErrorAs(t, err, &es)
	require.Len(t, es, 2)
	assert.Equal(t, "autotask.secretEnv", es[0].Field)
	assert.Equal(t, "orgs[0].ldap.passwordFile", es[1].Field)
	assert.ErrorIs(t, err, adsync.ErrInvalidConfig)

	require.NoError(t, os.WriteFile(path, []byte(ldapOrg+"      tls: {verify: chain-only, ca: missing-ca.pem}\n"), 0o600))
	cfg, err := Load(path, &Options{Getenv: func(string) string { return "" }, OrgsOnly: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"fabrikam"}, cfg.IDs())
	assert.Empty(t, cfg.Autotask.Secret, "no placeholder leaks")
	_, err = cfg.ContactStore()
	assert.Error(t, err)
	_, err = cfg.Orgs()
	assert.Error(t, err)
}

// Issue 11: autotask.Config.Validate names its field relative to the
// Config; the loader places it under "autotask." once, and a secret's
// setting under its Env form.
func TestAutotaskFieldRehomed(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, field string
	}{
		{"maxInFlight", strings.Replace(ldapOrg, "  secretEnv: AT_SECRET\n", "  secretEnv: AT_SECRET\n  maxInFlight: 20\n", 1), "autotask.maxInFlight"},
		{"secret with a line break", ldapOrg, "autotask.secretEnv"},
		{"exemptUdf with a line break", strings.Replace(ldapOrg, "  secretEnv: AT_SECRET\n", "  secretEnv: AT_SECRET\n  exemptUdf: \"Never\\ndeactivate\"\n", 1), "autotask.exemptUdf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "adsync.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.yaml), 0o600))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "ldap-password"), []byte("pw"), 0o600))
			env := map[string]string{"AT_SECRET": "s"}
			if tc.field == "autotask.secretEnv" {
				env["AT_SECRET"] = "s\r\nx"
			}
			_, err := Load(path, &Options{Getenv: func(k string) string { return env[k] }})
			require.Error(t, err)
			var ce *Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.ErrorIs(t, err, adsync.ErrInvalidConfig)
		})
	}
}

// R-DEACT-9: autotask.exemptUdf names the contact user-defined field that
// exempts a contact; it reaches the client's Config as written.
func TestExemptUDFSetting(t *testing.T) {
	for _, tc := range []struct {
		name, line, want string
	}{
		{"R-DEACT-9 set", "  exemptUdf: \"Never deactivate\"\n", "Never deactivate"},
		{"R-DEACT-9 unset: none", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "adsync.yaml")
			y := strings.Replace(ldapOrg, "  secretEnv: AT_SECRET\n", "  secretEnv: AT_SECRET\n"+tc.line, 1)
			require.NoError(t, os.WriteFile(path, []byte(y), 0o600))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "ldap-password"), []byte("pw"), 0o600))
			cfg, err := Load(path, &Options{Getenv: func(k string) string { return map[string]string{"AT_SECRET": "s"}[k] }})
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg.Autotask.ExemptUDF)
		})
	}
}
