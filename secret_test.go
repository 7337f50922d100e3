package adsync_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/leaktest"
)

func TestSecretNeverShows(t *testing.T) {
	const value = "hunter2-s3cr3t"
	s := adsync.NewSecret(value)
	require.Equal(t, value, s.Reveal())
	type wrapper struct {
		Name  string
		Pass  adsync.Secret
		inner adsync.Secret
		ptr   *adsync.Secret
	}
	w := wrapper{Name: "x", Pass: s, inner: s, ptr: &s}
	for _, v := range []any{s, &s, w, &w, []adsync.Secret{s}, map[string]adsync.Secret{"k": s}} {
		assert.Empty(t, leaktest.Find(v, value), "%T shows the secret", v)
	}
	assert.Equal(t, "[redacted]", s.String())
	assert.Equal(t, "", adsync.Secret{}.String(), "an empty secret prints as empty")
	assert.True(t, adsync.NewSecret("").IsZero())
	b, err := json.Marshal(struct {
		S adsync.Secret `json:"s,omitzero"`
	}{})
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(b), "omitzero leaves an empty secret out")
	var in struct{ S adsync.Secret }
	require.NoError(t, json.Unmarshal([]byte(`{"S":"from-json"}`), &in))
	assert.Equal(t, "from-json", in.S.Reveal(), "a decoded configuration fills the secret")
}
