package cli

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeConsoleMetrics: with the console served, its address also
// answers /healthz and /readyz without sign-in, and /metrics: open when the
// console listens on loopback, to a signed-in session otherwise.
func TestServeConsoleMetrics(t *testing.T) {
	const password = "a long console password"
	tests := []struct {
		name   string
		listen string
		yaml   string
		// metrics is /metrics' status before signing in.
		metrics int
	}{
		{"loopback, no sign-in configured", "127.0.0.1:0", "", http.StatusOK},
		{"loopback with sign-in", "127.0.0.1:0", "http:\n  passwordEnv: CONSOLE_PW\n", http.StatusOK},
		{"beyond loopback", "0.0.0.0:0", "http:\n  passwordEnv: CONSOLE_PW\n", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newCLIWorld(t, 4)
			w.withAlerts(t, tc.yaml)
			w.inv.env["CONSOLE_PW"] = password
			bg := w.inv.start("serve", "--http", tc.listen)
			errb := &bg.stderr
			urlRE := regexp.MustCompile(`msg="admin console" url=http://(\S+)/`)
			require.Eventually(t, func() bool { return urlRE.MatchString(errb.String()) }, 30*time.Second, 20*time.Millisecond, errb.String())
			_, port, err := net.SplitHostPort(urlRE.FindStringSubmatch(errb.String())[1])
			require.NoError(t, err)
			base := "http://127.0.0.1:" + port
			require.Eventually(t, func() bool { return strings.Contains(errb.String(), "run finished") }, 30*time.Second, 20*time.Millisecond)
			assert.Contains(t, errb.String(), "serving /healthz and /readyz unauthenticated, and /metrics, on the console's address")

			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar}
			get := func(path string) (int, string) {
				t.Helper()
				resp, err := hc.Get(base + path)
				require.NoError(t, err)
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				return resp.StatusCode, string(b)
			}
			for _, path := range []string{"/healthz", "/readyz"} {
				code, body := get(path)
				assert.Equal(t, http.StatusOK, code, path+": "+body)
			}
			code, body := get("/metrics")
			require.Equal(t, tc.metrics, code, body)
			signIn := func() {
				t.Helper()
				_, login := get("/login")
				csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(login)
				require.NotNil(t, csrf, login)
				resp, err := hc.PostForm(base+"/login", url.Values{"csrf": {csrf[1]}, "username": {"admin"}, "password": {password}})
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
			}
			if code == http.StatusUnauthorized {
				assert.Contains(t, body, "needs a signed-in session of the adsync console")
				signIn()
				code, body = get("/metrics")
				require.Equal(t, http.StatusOK, code, body)
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
			require.NoError(t, err)
			runs := fams["adsync_runs_total"]
			require.NotNil(t, runs)
			require.Len(t, runs.GetMetric(), 1)
			assert.Equal(t, 1.0, runs.GetMetric()[0].GetCounter().GetValue())

			// The console is still there, beside them.
			if tc.yaml != "" {
				signIn()
			}
			code, page := get("/org/contoso")
			assert.Equal(t, http.StatusOK, code)
			assert.Contains(t, page, "Contoso Ltd")
			assert.Equal(t, ExitOK, bg.stop(t), errb.String())
		})
	}
}
