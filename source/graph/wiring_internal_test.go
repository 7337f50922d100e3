package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// Each cloud's Graph root and token scope reach the source; BaseURL and
// Scope override them.
func TestCloudWiring(t *testing.T) {
	base := Config{TenantID: "contoso.onmicrosoft.com", ClientID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		ClientSecret: adsync.NewSecret("x"), GroupID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301"}
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

// Any property may be absent or null (docs/directories.md §A2): nothing fails,
// null is blank, a null accountEnabled counts as enabled, and an entry
// without an id is not a user. An extension's number keeps its text.
func TestNilSafeMapping(t *testing.T) {
	m := newMapping(map[adsync.Field]string{adsync.Title: "extension_x_title", adsync.Fax: "otherMails", adsync.City: "extension_x_floor"})
	require.True(t, m.extras)
	id := "5b0c5bfe-0000-4000-8000-000000000001"
	body := `{"value":[null,{},{"id":null},
		{"id":"` + id + `","accountEnabled":null,"businessPhones":null,"otherMails":[null,""],"extension_x_title":null,
		 "givenName":null,"streetAddress":null,"@removed":null},
		{"id":"` + id + `","EXTENSION_X_FLOOR":12345678901234567890,"accountEnabled":false}]}`
	for _, extras := range []bool{true, false} {
		d := pageDecoder{extras: extras}
		p, err := d.decode([]byte(body))
		require.NoError(t, err)
		require.Len(t, p.Value, 5)
		for _, g := range p.Value[:3] {
			_, ok := m.toUser(&g)
			assert.False(t, ok, "no id: not a user")
		}
		u, ok := m.toUser(&p.Value[3])
		require.True(t, ok)
		assert.Equal(t, id, u.ID)
		assert.True(t, u.Enabled)
		assert.Equal(t, adsync.Values{}, u.Values)
		assert.NotNil(t, p.Value[3].Removed, "an @removed without a reason still counts as removed")
		u, _ = m.toUser(&p.Value[4])
		assert.False(t, u.Enabled)
		if extras {
			assert.Equal(t, "12345678901234567890", u.Values[adsync.City], "extension names ignore case; numbers keep their digits")
		}
	}
}

// A decoder reused across pages starts each user blank: a property the
// next page leaves out is not the previous page's value.
func TestPageDecoderReuse(t *testing.T) {
	m := newMapping(nil)
	d := pageDecoder{}
	_, err := d.decode([]byte(`{"value":[{"id":"a","city":"Oslo","accountEnabled":false}],"@odata.nextLink":"https://x/next"}`))
	require.NoError(t, err)
	p, err := d.decode([]byte(`{"value":[{"id":"b"},null],"@odata.deltaLink":"https://x/delta"}`))
	require.NoError(t, err)
	require.Len(t, p.Value, 2)
	u, _ := m.toUser(&p.Value[0])
	assert.Equal(t, "", u.Values[adsync.City])
	assert.True(t, u.Enabled)
	assert.Equal(t, "", p.Value[1].ID)
	assert.Equal(t, "", p.NextLink)
	assert.Equal(t, "https://x/delta", p.DeltaLink)
}
