package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
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

// TestExemptUDF: with autotask.exemptUdf set, a technician marks a contact
// in Autotask; once its user leaves the group the plan lists it as exempt
// by its Autotask field and the sync leaves it active, while a contact
// whose field says "no" is deactivated as usual.
func TestExemptUDF(t *testing.T) {
	w := newCLIWorld(t, 12)
	cfg, err := os.ReadFile(w.config)
	require.NoError(t, err)
	require.Contains(t, string(cfg), "  zoneLookupUrl: ")
	cfg = []byte(strings.Replace(string(cfg), "  zoneLookupUrl: ", "  exemptUdf: \"Never deactivate\"\n  zoneLookupUrl: ", 1))
	require.NoError(t, os.WriteFile(w.config, cfg, 0o600))

	r := w.run(t, "sync")
	require.Equal(t, ExitOK, r.code, r.stderr)
	kept, active := w.contactOf(t, "user03@contoso.example")
	require.True(t, active)
	gone, active := w.contactOf(t, "user04@contoso.example")
	require.True(t, active)
	require.NoError(t, w.at.SetContactUDF(kept, "Never deactivate", "Yes"))
	require.NoError(t, w.at.SetContactUDF(gone, "Never deactivate", "no"))

	w.graph.RemoveMember(cliGroup, w.users[3])
	w.graph.RemoveMember(cliGroup, w.users[4])
	t.Run("R-DEACT-9 the plan lists the contact exempt by its Autotask field", func(t *testing.T) {
		r := w.run(t, "plan")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "= exempt user "+w.users[3])
		assert.Contains(t, r.stdout, "[R-DEACT-9]: out of scope, not deactivated: exempt by its Autotask field")
		assert.NotContains(t, r.stdout, "= exempt user "+w.users[4])
		r = w.run(t, "plan", "--json")
		require.Equal(t, ExitOK, r.code, r.stderr)
		var plans []planJSON
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &plans))
		require.Len(t, plans, 1)
		require.Len(t, plans[0].Exempt, 1)
		x := plans[0].Exempt[0]
		assert.Contains(t, x.Contact, "user03@contoso.example")
		assert.Equal(t, adsync.Exempted{UserID: w.users[3], ContactID: kept, Contact: x.Contact, Source: "field"}, x)
		assert.Equal(t, 1, plans[0].Counts.Deactivated)
	})
	t.Run("R-DEACT-9 a contact whose UDF is truthy is not deactivated when its user leaves scope", func(t *testing.T) {
		r := w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "deactivated 1,")
		_, active := w.contactOf(t, "user03@contoso.example")
		assert.True(t, active, "exempt by its Autotask field")
		_, active = w.contactOf(t, "user04@contoso.example")
		assert.False(t, active, "its field says no")
	})
}
