package graph_test

import (
	"context"
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
				TenantID: tt.tenant, ClientID: tt.client, ClientSecret: tt.secret, GroupID: gid,
				BaseURL: srv.GraphURL(), AuthorityHost: srv.URL + "/", HTTPClient: srv.Client(),
			})
			require.NoError(t, err)

			_, checkErr := src.Check(context.Background())
			var got []adsync.User
			readErr := src.Users(context.Background(), func(p []adsync.User) error { got = append(got, p...); return nil })
			if tt.kind == nil {
				require.NoError(t, checkErr)
				require.NoError(t, readErr)
				assert.Len(t, got, 1)
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
