package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// contactOf returns the id of the Autotask contact with the email.
func (w *cliWorld) contactOf(t *testing.T, email string) (int64, bool) {
	t.Helper()
	for _, c := range w.at.Contacts(1) {
		if c["emailAddress"] == email {
			id, err := strconv.ParseInt(fmt.Sprint(c["id"]), 10, 64)
			require.NoError(t, err)
			return id, fmt.Sprint(c["isActive"]) == "1" || c["isActive"] == true
		}
	}
	t.Fatalf("no contact with email %s", email)
	return 0, false
}

// TestExemptCommand: an admin exempts a contact from the command line, a
// sync leaves it active once its user left the group, and removing the
// exemption lets the next sync deactivate it.
func TestExemptCommand(t *testing.T) {
	w := newCLIWorld(t, 12)
	r := w.run(t, "sync")
	require.Equal(t, ExitOK, r.code, r.stderr)
	kept, active := w.contactOf(t, "user03@contoso.example")
	require.True(t, active)

	r = w.run(t, "exempt", "--org", "contoso", "--contact", strconv.FormatInt(kept, 10), "--reason", "the director's assistant", "--by", "test")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "[R-DEACT-9]")
	r = w.run(t, "exempt", "--json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var all map[string][]adsync.Exemption
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &all))
	require.Len(t, all["contoso"], 1)
	assert.Equal(t, "the director's assistant", all["contoso"][0].Reason)

	w.graph.RemoveMember(cliGroup, w.users[3])
	w.graph.RemoveMember(cliGroup, w.users[4])
	r = w.run(t, "plan")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "= exempt user "+w.users[3])
	assert.Contains(t, r.stdout, "[R-DEACT-9]: out of scope, not deactivated: exempt in the history (the director's assistant)")
	r = w.run(t, "sync")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "deactivated 1,")
	_, active = w.contactOf(t, "user03@contoso.example")
	assert.True(t, active, "R-DEACT-9 the exempt contact stays active")

	r = w.run(t, "exempt", "--org", "contoso", "--contact", strconv.FormatInt(kept, 10), "--remove")
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = w.run(t, "exempt", "--org", "contoso", "--contact", strconv.FormatInt(kept, 10), "--remove")
	assert.Equal(t, ExitFailed, r.code, "no exemption left")
	r = w.run(t, "sync")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "deactivated 1,")
	_, active = w.contactOf(t, "user03@contoso.example")
	assert.False(t, active)

	r = w.run(t, "exempt", "--contact", "5")
	assert.Equal(t, ExitUsage, r.code, "a contact without --org")
	r = w.run(t, "exempt", "--org", "contoso", "--contact", "-5")
	assert.Equal(t, ExitUsage, r.code)
}
