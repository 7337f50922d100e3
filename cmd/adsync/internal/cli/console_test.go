package cli

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/psasync/adsync/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeConsole: serve --http serves the admin console beside the
// schedule, on loopback without sign-in when none is configured.
func TestServeConsole(t *testing.T) {
	w := newCLIWorld(t, 4)
	bg := w.inv.start("serve", "--http", "127.0.0.1:0")
	url := regexp.MustCompile(`msg="admin console" url=(http://127\.0\.0\.1:\d+/)`)
	errb := &bg.stderr
	require.Eventually(t, func() bool { return url.MatchString(errb.String()) }, 30*time.Second, 20*time.Millisecond, errb.String())
	base := url.FindStringSubmatch(errb.String())[1]
	require.Eventually(t, func() bool { return strings.Contains(errb.String(), "run finished") }, 30*time.Second, 20*time.Millisecond)
	resp, err := http.Get(base + "org/contoso")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "Contoso Ltd")
	assert.Contains(t, string(body), "Next due", "the scheduler's next due time")
	assert.NotEmpty(t, resp.Header.Get("Content-Security-Policy"))
	assert.Contains(t, errb.String(), "no sign-in configured")
	assert.Equal(t, ExitOK, bg.stop(t), errb.String())
}

// background is an invocation running until stopped, as serve does until
// SIGINT or SIGTERM.
type background struct {
	cancel context.CancelFunc
	done   chan int
	stdout syncBuffer
	stderr syncBuffer
}

// start runs the command in the background.
func (in invocation) start(args ...string) *background {
	ctx, cancel := context.WithCancel(context.Background())
	bg := &background{cancel: cancel, done: make(chan int, 1)}
	off := false
	a := &app{stdout: &bg.stdout, stderr: &bg.stderr, terminal: &off, httpClient: in.httpClient,
		getenv: func(k string) string { return in.env[k] }}
	go func() { bg.done <- a.run(ctx, args) }()
	return bg
}

// stop cancels the command's context and returns its exit code.
func (bg *background) stop(t *testing.T) int {
	t.Helper()
	bg.cancel()
	select {
	case code := <-bg.done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not stop")
		return -1
	}
}

// TestServeConsoleRefusesNonLoopback: a console reachable from other
// machines without sign-in does not start, and says what to configure.
func TestServeConsoleRefusesNonLoopback(t *testing.T) {
	w := newCLIWorld(t, 4)
	r := w.run(t, "serve", "--http", "0.0.0.0:0")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "refusing to listen beyond loopback without authentication")
	assert.Contains(t, r.stderr, "http.passwordHash")
}

func TestConsoleConfig(t *testing.T) {
	base := validLDAP
	tests := []struct {
		name  string
		http  string
		field string
		want  string
	}{
		{"inline password", "http:\n  password: hunter2hunter2\n", "http.password", "secrets are not written in the configuration file"},
		{"password as hash", "http:\n  passwordHash: hunter2hunter2\n", "http.passwordHash", "is not a bcrypt hash"},
		{"short password", "http:\n  passwordEnv: CONSOLE_PW_SHORT\n", "http.passwordEnv", "too short"},
		{"cert without key", "http:\n  tlsCert: cert.pem\n", "http.tlsCert", "give both tlsCert and tlsKey"},
		{"oidc inline secret", "http:\n  oidc:\n    issuer: https://login.microsoftonline.com/t/v2.0\n    clientId: app\n    clientSecret: xyz\n", "http.oidc.clientSecret", "secrets are not written"},
		{"oidc bad redirect", "http:\n  oidc:\n    issuer: https://login.microsoftonline.com/t/v2.0\n    clientId: app\n    clientSecretEnv: CONSOLE_OIDC\n    redirectUrl: https://x.example/cb\n", "http.oidc.redirectUrl", "must end with"},
	}
	env := map[string]string{"AT_SECRET": "at-secret", "CONSOLE_PW_SHORT": "short", "CONSOLE_OIDC": "oidc-secret"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, base+tc.http, "https://webservices.autotask.net/atservicesrest/")
			cfg, err := config.Load(path, &config.Options{Getenv: func(k string) string { return env[k] }})
			if err == nil {
				_, err = consoleAuth(cfg) // the console validates the sign-in settings
			}
			var ce *config.Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.Contains(t, ce.Msg, tc.want)
			assert.NotContains(t, err.Error(), "hunter2hunter2")
		})
	}
	t.Run("valid", func(t *testing.T) {
		path := writeConfig(t, base+"http:\n  listen: 127.0.0.1:8080\n  passwordEnv: CONSOLE_PW\n  oidc:\n    issuer: https://login.microsoftonline.com/t/v2.0\n    clientId: app\n    clientSecretEnv: CONSOLE_OIDC\n    redirectUrl: https://adsync.example.com/oidc/callback\n",
			"https://webservices.autotask.net/atservicesrest/")
		env := map[string]string{"AT_SECRET": "at-secret", "CONSOLE_PW": "a long console password", "CONSOLE_OIDC": "oidc-secret-value"}
		cfg, err := config.Load(path, &config.Options{Getenv: func(k string) string { return env[k] }})
		require.NoError(t, err)
		auth, err := consoleAuth(cfg)
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1:8080", cfg.HTTP.Listen)
		assert.Equal(t, "a long console password", auth.Password)
		js, err := cfg.MarshalJSON()
		require.NoError(t, err)
		for _, shown := range []string{cfg.String(), cfg.GoString(), string(js)} {
			assert.NotContains(t, shown, "a long console password")
			assert.NotContains(t, shown, "oidc-secret-value")
		}
	})
}
