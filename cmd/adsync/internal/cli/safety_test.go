package cli

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/source/graph/graphtest"
)

// configure adds settings to the world's organization.
func (w *cliWorld) configure(t *testing.T, guard string, lines ...string) {
	t.Helper()
	b, err := os.ReadFile(w.config)
	require.NoError(t, err)
	extra := "    guard: " + guard + "\n"
	for _, l := range lines {
		extra += "    " + l + "\n"
	}
	text := strings.Replace(string(b), "    guard: {min: 3, percent: 10}\n", extra, 1)
	require.NoError(t, os.WriteFile(w.config, []byte(text), 0o600))
}

// TestSafetyScenarios runs the optional safety features end to end through
// the command, on the Graph and Autotask emulators.
func TestSafetyScenarios(t *testing.T) {
	t.Run("R-DEACT-7 R-FIELD-9 a grace period and Autotask edits kept", func(t *testing.T) {
		w := newCLIWorld(t, 12)
		w.configure(t, "{min: 3, percent: 10}", "deactivateAfter: 3d", "autotaskEdits: keep")
		r := w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)

		// A technician corrects a title in Autotask.
		id, _ := w.contactOf(t, "user05@contoso.example")
		cr := w.at.Credentials()
		client, err := autotask.New(autotask.Config{IntegrationCode: cr.IntegrationCode, Username: cr.Username, Secret: adsync.NewSecret(cr.Secret),
			ZoneLookupURL: w.at.ZoneLookupURL(), HTTPClient: w.at.Client()})
		require.NoError(t, err)
		up := adsync.ContactUpdate{ContactID: id, CompanyID: 1, Fields: adsync.NewFieldSet(adsync.Title)}
		up.Values[adsync.Title] = "Senior Engineer"
		require.NoError(t, client.Update(context.Background(), up))

		// A user leaves the group, by mistake.
		w.graph.RemoveMember(cliGroup, w.users[6])
		r = w.run(t, "plan")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, `[R-FIELD-9]: title "Senior Engineer" (the sync wrote "Engineer"; the directory says "Engineer")`)
		assert.Contains(t, r.stdout, "… pending deactivate user "+w.users[6])
		r = w.run(t, "plan", "--json")
		require.Equal(t, ExitOK, r.code, r.stderr)
		var plans []planJSON
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &plans))
		require.Len(t, plans[0].Pending, 1)
		assert.Equal(t, w.users[6], plans[0].Pending[0].UserID)
		require.Len(t, plans[0].Kept, 1)
		assert.Equal(t, "Senior Engineer", plans[0].Kept[0].Autotask)
		before := w.writes()
		r = w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "deactivated 0,")
		assert.Equal(t, before, w.writes(), "nothing written: the edit is kept, the user waits")
		c, _ := w.at.Contact(id)
		assert.Equal(t, "Senior Engineer", c["title"])
		_, active := w.contactOf(t, "user06@contoso.example")
		assert.True(t, active)

		// Back in the group before the grace period ran out: untouched.
		w.graph.AddMembers(cliGroup, w.users[6])
		r = w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Equal(t, before, w.writes())
		r = w.run(t, "plan")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.NotContains(t, r.stdout, "pending deactivate")
	})

	t.Run("R-DEACT-8 disabled users at once, missing ones after the grace period", func(t *testing.T) {
		w := newCLIWorld(t, 12)
		w.configure(t, "{min: 3, percent: 10}", "deactivateAfter: 3d", "disabledAtOnce: true")
		r := w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		w.graph.PutUser(graphtest.User{ID: w.users[7], GivenName: "User", Surname: "Number07", DisplayName: "User Number07",
			Mail: "user07@contoso.example", UserPrincipalName: "user07@contoso.example", JobTitle: "Engineer", UsageLocation: "GB",
			Disabled: true})
		w.graph.RemoveMember(cliGroup, w.users[8])
		r = w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "deactivated 1,", "the disabled user at once")
		_, active := w.contactOf(t, "user07@contoso.example")
		assert.False(t, active)
		_, active = w.contactOf(t, "user08@contoso.example")
		assert.True(t, active, "the missing one waits")
	})

	t.Run("R-DEACT-6 the guard window holds a slow leak", func(t *testing.T) {
		w := newCLIWorld(t, 12)
		w.configure(t, "{min: 3, percent: 10, window: 7d}")
		r := w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		for _, id := range w.users[5:8] {
			w.graph.RemoveMember(cliGroup, id)
		}
		r = w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "deactivated 3,", "within the limit of 3")
		w.graph.RemoveMember(cliGroup, w.users[8])
		r = w.run(t, "sync")
		require.Equal(t, ExitHeld, r.code, r.stderr)
		assert.Contains(t, r.stdout, "R-DEACT-6: held 1 deactivations: guard window 168h0m0s [R-DEACT-6]: 3 deactivated by the runs of the window and 1 by this run, limit 3: held")
		assert.NotContains(t, r.stdout, "R-DEACT-4: held")
		assert.Contains(t, r.stdout, "run 3 is HELD: it would deactivate 1 contacts, which with those of the guard's window are more than the guard allows (R-DEACT-6)")
		r = w.run(t, "approve", "--org", "contoso")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "deactivated 1,", "an approval applies what the window held")
	})

	t.Run("R-CONF-7 R-CONF-6 a re-created account keeps its contact", func(t *testing.T) {
		w := newCLIWorld(t, 12)
		r := w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		id, _ := w.contactOf(t, "user04@contoso.example")
		// The account is deleted and made again: a new Graph id.
		w.graph.RemoveMember(cliGroup, w.users[4])
		w.graph.DeleteUser(w.users[4])
		newID := "00000000-0000-4000-8000-000000000999"
		w.graph.PutUser(graphtest.User{ID: newID, GivenName: "User", Surname: "Number04", DisplayName: "User Number04",
			Mail: "user04@contoso.example", UserPrincipalName: "user04@contoso.example", JobTitle: "Engineer", UsageLocation: "GB"})
		w.graph.AddMembers(cliGroup, newID)
		r = w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		r = w.run(t, "conflicts")
		require.Equal(t, ExitOK, r.code, r.stderr)
		suggestion := "adsync conflicts resolve --org contoso --user " + newID + " --link " + strconv.FormatInt(id, 10)
		assert.Contains(t, r.stdout, suggestion)
		r = w.run(t, strings.Fields(suggestion)[1:]...)
		require.Equal(t, ExitOK, r.code, r.stderr)
		r = w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		// The old contact was inactive: taking it over is a reactivation
		// (R-MATCH-2's vocabulary), not a plain link.
		assert.Contains(t, r.stdout, "created 0, linked 0, updated 0, reactivated 1,")
		_, active := w.contactOf(t, "user04@contoso.example")
		assert.True(t, active, "the old contact, reactivated for the new account")
	})
}
