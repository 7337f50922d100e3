package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/source/graph/graphtest"
)

// needDC returns the Samba AD DC's URL (scripts/services/samba.sh), or skips
// the test (fails it under ADSYNC_REQUIRE_SERVICES=1) when none is set.
func needDC(t *testing.T) string {
	t.Helper()
	url := os.Getenv("ADSYNC_LDAP_URL")
	if url == "" {
		msg := "no Samba AD DC (ADSYNC_LDAP_URL): run ./scripts/test.sh"
		if os.Getenv("ADSYNC_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

// orgConfig is a configuration file for one organization, orgID, syncing
// into company of the Autotask emulator at (its secret in $AT_SECRET), read
// from directory: an ldapDirectory or azureDirectory.
func orgConfig(at *autotasktest.Server, orgID string, company int64, directory string) string {
	return fmt.Sprintf(`autotask:
  username: %s
  integrationCode: %s
  secretEnv: AT_SECRET
  zoneLookupUrl: %s
orgs:
  - id: %s
    companyId: %d
%s`, at.Credentials().Username, at.Credentials().IntegrationCode, at.ZoneLookupURL(), orgID, company, directory)
}

// ldapDirectory is the ldap: setting of an organization reading baseDN of
// the Samba AD DC at url (its password in $LDAP_PASSWORD).
func ldapDirectory(url, baseDN string) string {
	return fmt.Sprintf(`    ldap:
      url: %s
      bindName: %s
      passwordEnv: LDAP_PASSWORD
      baseDN: %q
      tls: {ca: %s, verify: chain-only}
`, url, os.Getenv("ADSYNC_LDAP_BIND_DN"), baseDN, os.Getenv("ADSYNC_LDAP_CA"))
}

// azureDirectory is the azure: setting of an organization reading group
// cliGroup of the Graph emulator g as app cliClient (its secret in
// $CONTOSO_GRAPH_SECRET).
func azureDirectory(g *graphtest.Server) string {
	return fmt.Sprintf(`    azure:
      tenantId: %s
      clientId: %s
      clientSecretEnv: CONTOSO_GRAPH_SECRET
      groupId: %s
      baseUrl: %s
      authorityHost: %s/
`, cliTenant, cliClient, cliGroup, g.GraphURL(), g.URL())
}

// movedPerson is a user made in the DC for the move, with its objectGUID as
// Entra ID Connect would carry it.
type movedPerson struct {
	given, sn, mail, title, city string
	guid                         string // GUIDString form, the LDAP link's key
	immutableID                  string // base64 of the objectGUID's bytes
}

// seedMoveOU makes an OU of n users in the DC, removed with them when the
// test ends, and returns the OU's DN and the users with their objectGUIDs.
func seedMoveOU(t *testing.T, url string, n int) (string, []movedPerson) {
	t.Helper()
	base, bind, pw := os.Getenv("ADSYNC_LDAP_BASE_DN"), os.Getenv("ADSYNC_LDAP_BIND_DN"), os.Getenv("ADSYNC_LDAP_PASSWORD")
	require.NotEmpty(t, base, "ADSYNC_LDAP_BASE_DN")
	// The admin connection only builds test data; the CLI verifies the DC.
	conn, err := ldap.DialURL(url, ldap.DialWithTLSConfig(&tls.Config{InsecureSkipVerify: true})) //nolint:gosec // test data setup only
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind(bind, pw))
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	ou := fmt.Sprintf("OU=movecli-%x,%s", suffix, base)
	add := ldap.NewAddRequest(ou, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	require.NoError(t, conn.Add(add), "add %s", ou)
	t.Cleanup(func() {
		err := conn.Del(ldap.NewDelRequest(ou, []ldap.Control{ldap.NewControlSubtreeDelete()}))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Errorf("remove test OU %s: %v", ou, err)
		}
	})
	people := make([]movedPerson, n)
	for i := range people {
		p := movedPerson{given: "Mover", sn: fmt.Sprintf("Number%02d", i), mail: fmt.Sprintf("mover%02d@contoso.example", i),
			title: "Engineer", city: "Leeds"}
		dn := fmt.Sprintf("CN=Mover %02d,%s", i, ou)
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"user"})
		req.Attribute("sAMAccountName", []string{fmt.Sprintf("m%x%02d", suffix, i)})
		req.Attribute("userAccountControl", []string{"544"}) // enabled, no password needed
		for attr, v := range map[string]string{"givenName": p.given, "sn": p.sn, "mail": p.mail, "title": p.title, "l": p.city} {
			req.Attribute(attr, []string{v})
		}
		require.NoError(t, conn.Add(req), "add user %s", dn)
		res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"objectGUID"}, nil))
		require.NoError(t, err)
		require.Len(t, res.Entries, 1)
		raw := res.Entries[0].GetRawAttributeValue("objectGUID")
		require.Len(t, raw, 16)
		p.guid, p.immutableID = adsync.GUIDString(raw), base64.StdEncoding.EncodeToString(raw)
		people[i] = p
	}
	return ou, people
}

// TestRLINK6MoveFromADToEntraID walks an organization through the CLI from
// the Samba AD DC to the Graph emulator seeded with the same people, as
// Entra ID Connect syncs them (onPremisesImmutableId = base64 of the
// objectGUID): after the configuration's ldap: becomes azure:, the plan
// says every link is carried over, and the sync creates nothing,
// deactivates nothing, keeps every contact under the user's Graph id and
// writes only the one real difference; the next sync writes nothing.
func TestRLINK6MoveFromADToEntraID(t *testing.T) {
	url := needDC(t)
	const n = 10
	ou, people := seedMoveOU(t, url, n)

	at := autotasktest.NewServer(autotasktest.Options{TimeScale: 0.001})
	t.Cleanup(at.Close)
	company := at.AddCompany("Contoso")
	g := graphtest.NewTLSServer()
	t.Cleanup(g.Close)
	g.AddApp(cliTenant, cliClient, "graph-secret")
	g.AddGroup(cliGroup, "Autotask Contacts")

	dir := t.TempDir()
	config := filepath.Join(dir, "adsync.yaml")
	writeOrg := func(directory string) {
		t.Helper()
		require.NoError(t, os.WriteFile(config, []byte(orgConfig(at, "contoso", company, directory)), 0o600))
	}
	inv := invocation{httpClient: g.Client(), env: map[string]string{"ADSYNC_CONFIG": config,
		"AT_SECRET": at.Credentials().Secret, "LDAP_PASSWORD": os.Getenv("ADSYNC_LDAP_PASSWORD"), "CONTOSO_GRAPH_SECRET": "graph-secret"}}
	writes := func() int { return contactWrites(at) }
	runs := func() []adsync.Run {
		t.Helper()
		r := inv.run(t, "history", "--json")
		require.Equal(t, ExitOK, r.code, r.stderr)
		var all map[string][]adsync.Run
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &all))
		require.NotEmpty(t, all["contoso"])
		return all["contoso"]
	}
	links := func() map[string]int64 {
		t.Helper()
		h, err := sqlite.Open(context.Background(), filepath.Join(dir, "adsync-history.db"), nil)
		require.NoError(t, err)
		defer h.Close()
		ls, err := h.Links(context.Background(), "contoso")
		require.NoError(t, err)
		out := map[string]int64{}
		for _, l := range ls {
			out[l.UserID] = l.ContactID
		}
		return out
	}

	writeOrg(ldapDirectory(url, ou))
	r := inv.run(t, "sync")
	require.Equal(t, ExitOK, r.code, r.stdout+r.stderr)
	require.Equal(t, n, runs()[0].Counts.Created, "the AD run creates a contact for each user")
	require.Len(t, at.Contacts(company), n)
	adLinks := links()
	require.Len(t, adLinks, n)
	for _, p := range people {
		require.Contains(t, adLinks, p.guid, "the LDAP link is keyed by the objectGUID")
	}

	// Entra ID Connect syncs the same people under new ids; one of them
	// was promoted meanwhile: the one real difference.
	graphID := map[string]string{} // objectGUID → Graph id
	for i, p := range people {
		title := p.title
		if i == 3 {
			title = "Lead Engineer"
		}
		id := g.PutUser(graphtest.User{GivenName: p.given, Surname: p.sn, DisplayName: p.given + " " + p.sn, Mail: p.mail,
			UserPrincipalName: p.mail, JobTitle: title, City: p.city, OnPremisesImmutableID: p.immutableID})
		g.AddMembers(cliGroup, id)
		graphID[p.guid] = id
	}
	writeOrg(azureDirectory(g))
	before := writes()

	r = inv.run(t, "plan")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("# directory move [R-LINK-6]: %d links carried over", n))
	r = inv.run(t, "plan", "--json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var plans []planJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plans))
	require.Len(t, plans, 1)
	require.NotNil(t, plans[0].Move, "R-LINK-6 the plan reports the move")
	assert.Equal(t, adsync.MoveReport{CarriedOver: n}, *plans[0].Move)
	assert.Equal(t, before, writes(), "a plan writes nothing")

	r = inv.run(t, "sync")
	require.Equal(t, ExitOK, r.code, r.stdout+r.stderr)
	all := runs()
	require.Len(t, all, 2)
	run := all[0] // the newest first
	assert.Equal(t, adsync.StatusSucceeded, run.Status, run.Error)
	assert.Equal(t, n, run.Counts.Read)
	assert.Zero(t, run.Counts.Created, "no new contact")
	assert.Zero(t, run.Counts.Deactivated+run.Counts.Held, "no deactivation")
	assert.Zero(t, run.Counts.Conflicts)
	assert.Equal(t, 1, run.Counts.Updated, "only the real difference is written")
	assert.Equal(t, before+1, writes())
	assert.Len(t, at.Contacts(company), n, "no contact added")
	moved := links()
	require.Len(t, moved, n, "the old keys are gone")
	for guid, contact := range adLinks {
		assert.Equal(t, contact, moved[graphID[guid]], "user %s keeps contact %d under its Graph id", guid, contact)
	}
	promoted, ok := at.Contact(moved[graphID[people[3].guid]])
	require.True(t, ok)
	assert.Equal(t, "Lead Engineer", promoted["title"])
	for _, c := range at.Contacts(company) {
		assert.EqualValues(t, 1, c["isActive"], "contact %v stays active", c["id"])
	}

	before = writes()
	r = inv.run(t, "sync")
	require.Equal(t, ExitOK, r.code, r.stdout+r.stderr)
	assert.Equal(t, before, writes(), "R-RUN-8 the next sync writes nothing")
	assert.Contains(t, r.stdout, "created 0, linked 0, updated 0")
}
