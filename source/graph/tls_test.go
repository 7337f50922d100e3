package graph_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
)

// An untrusted certificate on the sign-in or Graph endpoint (a
// TLS-inspecting proxy, a wrong custom cloud) is reported as a TLS failure
// that names the host and says what to fix, not as an outage.
func TestUntrustedCertificate(t *testing.T) {
	srv := graphtest.NewTLSServer()
	t.Cleanup(srv.Close)
	srv.AddApp(tenant, client, secret)
	gid := srv.AddGroup("", "Staff")
	srv.AddMembers(gid, srv.PutUser(graphtest.User{UserPrincipalName: "a@contoso.example", DisplayName: "A"}))
	for _, tc := range []struct {
		name string
		cfg  graph.Config
	}{
		{"sign-in endpoint", graph.Config{TenantID: tenant, ClientID: client, ClientSecret: adsync.NewSecret(secret), GroupID: gid,
			BaseURL: srv.GraphURL(), AuthorityHost: srv.URL() + "/", HTTPClient: &http.Client{}}},
		{"Graph endpoint", graph.Config{Credential: graph.StaticToken("t"), GroupID: gid,
			BaseURL: srv.GraphURL(), HTTPClient: &http.Client{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := graph.New(tc.cfg)
			require.NoError(t, err)
			_, checkErr := src.Check(context.Background())
			readErr := src.Users(context.Background(), func([]adsync.User) error { return nil })
			for _, err := range []error{checkErr, readErr} {
				require.ErrorIs(t, err, adsync.ErrTLS)
				assert.True(t, adsync.IsSystemic(err))
				assert.Contains(t, err.Error(), "127.0.0.1", "names the host")
				assert.Contains(t, err.Error(), "certificate")
				assert.NotContains(t, err.Error(), secret)
			}
		})
	}
}
