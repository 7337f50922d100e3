package console_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync/console"
)

// TestRequireSignIn: a handler a host mounts beside the console (its
// /metrics) is served to a signed-in session only.
func TestRequireSignIn(t *testing.T) {
	for _, noAuth := range []bool{false, true} {
		name := "password"
		if noAuth {
			name = "no auth"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			opts := console.Options{Syncer: f.syncer, Orgs: console.StaticOrgs(f.orgs), Auth: console.Auth{Password: adminPassword}}
			if noAuth {
				opts.Auth = console.Auth{NoAuth: true}
			}
			c, err := console.New(opts)
			require.NoError(t, err)
			mux := http.NewServeMux()
			mux.Handle("/", c)
			mux.Handle("GET /metrics", c.RequireSignIn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("adsync_runs_total 1\n"))
			})))
			hs := httptest.NewServer(mux)
			t.Cleanup(hs.Close)
			cl := (&server{Server: hs, c: c}).client(t)

			code, body := cl.get("/metrics")
			if noAuth {
				assert.Equal(t, http.StatusOK, code)
				assert.Equal(t, "adsync_runs_total 1\n", body)
				return
			}
			assert.Equal(t, http.StatusUnauthorized, code)
			assert.Equal(t, "/metrics needs a signed-in session of the adsync console: sign in at /login first.\n", body)
			cl.login()
			code, body = cl.get("/metrics")
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, "adsync_runs_total 1\n", body)
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{"127.0.0.2:0", true},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"192.0.2.10:8080", false},
		{"adsync.example.com:8080", false},
		{"127.0.0.1", false}, // no port: not a listen address
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, console.IsLoopback(tc.addr), tc.addr)
	}
}
