package graph

import (
	"testing"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// Each cloud's Graph root and token scope reach the source; BaseURL and
// Scope override them.
func TestCloudWiring(t *testing.T) {
	base := Config{TenantID: "contoso.onmicrosoft.com", ClientID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		ClientSecret: "x", GroupID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301"}
	for _, c := range []Cloud{"", CloudPublic, CloudUSGov, CloudUSGovDoD, CloudChina} {
		cfg := base
		cfg.Cloud = c
		s, err := New(cfg)
		require.NoError(t, err)
		ep, _ := c.Endpoints()
		assert.Equal(t, ep.GraphRoot, s.base, c)
		assert.Equal(t, ep.Scope, s.scope, c)
		assert.Equal(t, ep.GraphRoot, s.adapter.GetBaseUrl(), c)
	}
	cfg := base
	cfg.BaseURL = "https://graph.example.net/v1.0/"
	s, err := New(cfg)
	require.NoError(t, err)
	assert.Equal(t, "https://graph.example.net/v1.0", s.base)
	assert.Equal(t, "https://graph.example.net/.default", s.scope)
	cfg.Scope = "api://custom/.default"
	s, err = New(cfg)
	require.NoError(t, err)
	assert.Equal(t, "api://custom/.default", s.scope)
}

// Every getter may return nil (docs/directories.md §A2): nothing panics, nil is
// blank, and a nil accountEnabled counts as enabled.
func TestNilSafeMapping(t *testing.T) {
	m := newMapping(map[adsync.Field]string{adsync.Title: "extension_x_title", adsync.Fax: "otherMails"})
	var typedNil *models.User
	for _, g := range []models.Userable{nil, typedNil, models.NewUser()} {
		_, ok := m.toUser(g, true)
		assert.False(t, ok, "no id: not a user")
	}
	g := models.NewUser()
	id := "5b0c5bfe-0000-4000-8000-000000000001"
	g.SetId(&id)
	g.SetBusinessPhones(nil)
	g.SetAdditionalData(map[string]any{"extension_x_title": (*string)(nil), "@removed": nil})
	u, ok := m.toUser(g, true)
	require.True(t, ok)
	assert.Equal(t, id, u.ID)
	assert.True(t, u.Enabled)
	assert.Equal(t, adsync.Values{}, u.Values)
	assert.Equal(t, "removed", removedReason(g), "an @removed without a reason still counts as removed")
}
