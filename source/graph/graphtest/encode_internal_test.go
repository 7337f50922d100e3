package graphtest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hand-written JSON decodes to what encoding/json would have written.
func TestAppendStringAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r", "\x00\x01\x1f\x7f",
		"é ü 漢字 🙂", "bad \xff\xfe utf-8", "line\u2028sep\u2029", "<&>"} {
		var got, want string
		require.NoError(t, json.Unmarshal(appendString(nil, s), &got), "%q", s)
		js, err := json.Marshal(s)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(js, &want))
		assert.Equal(t, want, got, "%q", s)
	}
}

func TestUserJSON(t *testing.T) {
	u := User{ID: "u1", DisplayName: "Ann \"A\" Lee", City: "Oslo", BusinessPhones: []string{"1", "2"}, Disabled: true,
		Extra: map[string]any{"extension_x_costCenter": 42, "jobTitle": "from Extra"}}
	sel := resolveSelect([]string{"displayName", "DISPLAYNAME", "city", "mail", "businessPhones", "otherMails", "accountEnabled",
		"jobTitle", "preferredLanguage", "EXTENSION_X_COSTCENTER", "extension_x_missing", "id"})
	var got map[string]any
	require.NoError(t, json.Unmarshal(u.appendJSON(nil, sel, true), &got))
	assert.Equal(t, map[string]any{"@odata.type": "#microsoft.graph.user", "id": "u1", "displayName": "Ann \"A\" Lee",
		"city": "Oslo", "mail": nil, "businessPhones": []any{"1", "2"}, "otherMails": []any{}, "accountEnabled": false,
		"jobTitle": "from Extra", "preferredLanguage": nil, "extension_x_costCenter": float64(42)}, got)

	var defaults map[string]any
	require.NoError(t, json.Unmarshal(u.appendJSON(nil, resolveSelect(nil), false), &defaults))
	assert.Len(t, defaults, len(defaultUserProperties), "the default set")
	assert.NotContains(t, defaults, "city")
}
