package ldap_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
	adldap "github.com/psasync/adsync/source/ldap"
)

// TestMoveToEntraID walks an organization from the Samba AD DC to the Graph
// emulator seeded with the same people, as Entra ID Connect would sync them
// (onPremisesImmutableId = base64 of the objectGUID): the first run after the
// switch carries every link over, creates nothing and deactivates nothing
// (R-LINK-6).
func TestMoveToEntraID(t *testing.T) {
	d := connectDC(t)
	ou := d.newOU("move", "")
	const n = 8
	for i := range n {
		d.addUser(ou, person{CN: fmt.Sprintf("Mover %d", i), Given: "Mover", Sn: fmt.Sprintf("Number%d", i),
			Mail: fmt.Sprintf("mover%d@contoso.example", i), Title: "Engineer", City: "Leeds"})
	}
	ad, err := adldap.New(d.env.config(ou))
	require.NoError(t, err)
	store := contacts.NewMemory(nil)
	store.AddCompany(100, "Contoso")
	s, err := adsync.NewSyncer(adsync.Options{Store: store, History: history.NewMemory(), Matcher: matcher.New(nil), Fields: merge.New})
	require.NoError(t, err)
	org := adsync.Org{Config: adsync.OrgConfig{ID: "contoso", CompanyID: 100, Enabled: true, Directory: adsync.DirectoryLDAP}, Source: ad}
	ctx := context.Background()
	run, err := s.Sync(ctx, org, adsync.TriggerForced)
	require.NoError(t, err)
	require.Equal(t, n, run.Counts.Created, run.Error)

	// Entra ID Connect syncs the same people: new ids, the objectGUID as
	// onPremisesImmutableId.
	g := graphtest.NewServer()
	t.Cleanup(g.Close)
	gid := g.AddGroup("", "Contoso staff")
	var users []adsync.User
	require.NoError(t, ad.Users(ctx, func(p []adsync.User) error { users = append(users, p...); return nil }))
	require.Len(t, users, n)
	graphIDs := map[string]string{} // objectGUID → Graph id
	for _, u := range users {
		id := g.PutUser(graphtest.User{GivenName: u.Values[adsync.FirstName], Surname: u.Values[adsync.LastName],
			DisplayName: u.Name, Mail: u.Values[adsync.Email], UserPrincipalName: u.Values[adsync.Email],
			JobTitle: u.Values[adsync.Title], City: u.Values[adsync.City], OnPremisesImmutableID: adsync.ImmutableIDOf(u.ID)})
		g.AddMembers(gid, id)
		graphIDs[u.ID] = id
	}
	entra, err := graph.New(graph.Config{GroupID: gid, BaseURL: g.GraphURL(), Credential: graph.StaticToken("test-token")})
	require.NoError(t, err)
	before, err := s.History().Links(ctx, "contoso")
	require.NoError(t, err)
	writes := store.Counts().Writes()

	org.Source, org.Config.Directory = entra, adsync.DirectoryAzure
	run, err = s.Sync(ctx, org, adsync.TriggerForced)
	require.NoError(t, err)
	assert.Equal(t, adsync.StatusSucceeded, run.Status, run.Error)
	assert.Zero(t, run.Counts.Created, "no new contact")
	assert.Zero(t, run.Counts.Deactivated+run.Counts.Held, "no deactivation")
	assert.Zero(t, run.Counts.Conflicts)
	assert.Equal(t, writes, store.Counts().Writes(), "the same values: nothing written")
	after, err := s.History().Links(ctx, "contoso")
	require.NoError(t, err)
	require.Len(t, after, n)
	contactOf := map[string]int64{}
	for _, l := range after {
		contactOf[l.UserID] = l.ContactID
	}
	for _, l := range before {
		assert.Equal(t, l.ContactID, contactOf[graphIDs[l.UserID]], "user %s keeps contact %d under its Graph id", l.UserID, l.ContactID)
	}
}
