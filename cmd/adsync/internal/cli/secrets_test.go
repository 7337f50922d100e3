package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/config"
	"github.com/psasync/adsync/notify"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphconfig"
	"github.com/psasync/adsync/source/ldap"
)

// A loaded configuration holds every secret resolved; none of them shows in
// any way the configuration can be printed, logged or dumped.
func TestConfigSecretsRedacted(t *testing.T) {
	const (
		atSecret = "AT-s3cret-value"
		ldapPW   = "LDAP-s3cret-value"
		azSecret = "AZ-s3cret-value"
		certPW   = "CERT-s3cret-value"
		pgPW     = "PG-s3cret-value"
		// The alert channels' secrets.
		hookSecret = "HOOK-s3cret-value"
		slackToken = "SLACK-s3cret-token"
		smtpPW     = "SMTP-s3cret-value"
	)
	for _, store := range []string{
		"postgres:postgres://adsync:" + pgPW + "@db.example:5432/adsync",
		"postgres:postgres://adsync@db.example/adsync?sslmode=require&password=" + pgPW,
		"postgres:host=db.example user=adsync password=" + pgPW + " dbname=adsync",
		"postgres:host=db.example user=adsync password='" + pgPW + "' dbname=adsync",
	} {
		t.Run(store, func(t *testing.T) {
			cfg := config.Config{Path: "/etc/adsync.yaml", Store: store,
				Autotask: autotask.Config{Username: "api-user@example.com", IntegrationCode: "CODE", Secret: adsync.NewSecret(atSecret)},
				Organizations: []config.Org{
					{Index: 0, Directory: &config.LDAP{Config: ldap.Config{URL: "ldaps://dc1.example", BindName: "svc@example", Password: adsync.NewSecret(ldapPW)}}},
					{Index: 1, Directory: &graphconfig.Directory{Config: graph.Config{TenantID: "contoso.example", ClientSecret: adsync.NewSecret(azSecret), CertificatePassword: adsync.NewSecret(certPW)}}},
				},
				Alerts: &notify.Config{Routes: []notify.Route{
					{Channel: &notify.Webhook{URL: "https://hooks.example/x", Secret: []byte(hookSecret)}},
					{Channel: &notify.Slack{URL: "https://hooks.slack.com/services/" + slackToken}},
					{Channel: &notify.Email{Host: "smtp.example", Username: "u", Password: smtpPW}},
				}}}
			var text, js bytes.Buffer
			slog.New(slog.NewTextHandler(&text, nil)).Info("config", "cfg", cfg, "ptr", &cfg)
			slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "cfg", cfg, "ptr", &cfg)
			dump, err := json.Marshal(cfg)
			require.NoError(t, err)
			outputs := map[string]string{
				"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
				"%s":              fmt.Sprintf("%s", cfg), //lint:ignore S1025 the verb under test
				"%v of a pointer": fmt.Sprintf("%v", &cfg), "%+v of a pointer": fmt.Sprintf("%+v", &cfg),
				"slog text": text.String(), "slog JSON": js.String(), "JSON": string(dump),
			}
			for how, out := range outputs {
				for _, secret := range []string{atSecret, ldapPW, azSecret, certPW, pgPW, hookSecret, slackToken, smtpPW} {
					assert.NotContains(t, out, secret, "%s shows a secret", how)
				}
				assert.Contains(t, out, "db.example", "%s: the rest of the store stays readable", how)
				assert.Contains(t, out, "api-user@example.com", "%s: the rest stays readable", how)
			}
		})
	}
}

// A store specification in a message never shows its password, whatever
// the DSN's form (R: secrets never appear in errors).
func TestRedactDSNForms(t *testing.T) {
	const pw = "PG-s3cret-value"
	for _, tc := range []struct {
		name, spec, keep string
	}{
		{"URL userinfo", "pg://adsync:" + pw + "@db.example/adsync", "db.example"},
		{"URL query password", "pgsql://adsync@db.example/adsync?password=" + pw, "db.example"},
		{"URL query sslpassword", "pgsql://adsync@db.example/adsync?sslpassword=" + pw + "&sslmode=verify-full", "sslmode=verify-full"},
		{"URL escaped password", "pgsql://adsync:" + pw + "%2F@db.example/adsync", "db.example"},
		{"key=value", "pg:host=db.example password=" + pw, "host=db.example"},
		{"key=value quoted with a space", "pg:host=db.example password='" + pw + " x'", "host=db.example"},
		{"key = value with spaces", "pg:host=db.example password = " + pw, "host=db.example"},
		{"key=value sslpassword", "pg:host=db.example sslpassword=" + pw, "host=db.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := config.RedactDSN(tc.spec)
			assert.NotContains(t, got, pw)
			assert.Contains(t, got, tc.keep)
			r := invocation{env: map[string]string{"AT_SECRET": "at-secret"}}.run(t, "check", "--config", writeConfig(t, validLDAP, "http://127.0.0.1:1"), "--store", tc.spec)
			assert.Equal(t, ExitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, "--store")
			assert.NotContains(t, r.stderr+r.stdout, pw)
		})
	}
}

// A store given as a bare PostgreSQL URL (postgres://… or postgresql://…,
// as libpq and the error messages write it) is that URL, not "postgres:"
// followed by "//…": the error names the host the admin gave, never a
// default local socket, and never the password.
func TestStoreAsPostgresURL(t *testing.T) {
	const pw = "PG-s3cret-value"
	w := newCLIWorld(t, 1)
	for _, spec := range []string{
		"postgres://adsync:" + pw + "@127.0.0.1:1/adsync?sslmode=disable&connect_timeout=2",
		"postgres://adsync:" + pw + "@127.0.0.1:1/adsync",
		"postgresql://adsync:" + pw + "@127.0.0.1:1/adsync?connect_timeout=2",
	} {
		t.Run(spec, func(t *testing.T) {
			r := w.run(t, "sync", "--store", spec)
			assert.Equal(t, ExitFailed, r.code, "an unreachable server is not bad input: %s", r.stderr)
			assert.Contains(t, r.stderr, "adsync@127.0.0.1:1/adsync", "the server the admin named")
			assert.Contains(t, r.stderr, "check the host and port")
			assert.NotContains(t, r.stderr, "/var/run/postgresql")
			assert.NotContains(t, r.stderr+r.stdout, pw)
			assert.NoFileExists(t, w.store, "nothing written")
		})
	}
}

// A secret pasted where the name of its environment variable goes
// (secretEnv: the-secret-itself) is refused without repeating it: the
// message goes to logs and terminals.
func TestSecretValueInEnvSetting(t *testing.T) {
	const pasted = "Zq8~x.Yy7-pAsTeD$ecret"
	for _, tc := range []struct{ name, config, field string }{
		{"autotask secretEnv", strings.Replace(validLDAP, "secretEnv: AT_SECRET", `secretEnv: "`+pasted+`"`, 1), "autotask.secretEnv"},
		{"ldap passwordEnv", strings.Replace(validLDAP, "passwordFile: ldap-password", `passwordEnv: "`+pasted+`"`, 1), "orgs[0].ldap.passwordEnv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.config, "http://127.0.0.1:1")
			r := invocation{env: map[string]string{"AT_SECRET": "at-secret"}}.run(t, "check", "--config", path)
			assert.Equal(t, ExitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.field)
			assert.Contains(t, r.stderr, "name of an environment variable")
			assert.NotContains(t, r.stderr+r.stdout, pasted)
			assert.NotContains(t, r.stderr, "~x.Yy7", "not even a part")
		})
	}
}
