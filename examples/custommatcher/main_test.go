package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	require.Equal(t, `default rules:
  create Bob Ray <bob.ray@contoso.example> (00000000-0000-0000-0000-000000000001) [R-MATCH-5]
old domain counts as the new one:
  link Bob Ray <bob.ray@contoso.example> (00000000-0000-0000-0000-000000000001) [R-MATCH-1] to Robert Ray <bob.ray@contoso-old.example> (contact 1)
    firstName: "Robert" → "Bob"
    emailAddress: "bob.ray@contoso-old.example" → "bob.ray@contoso.example"
`, out.String())
}
