package graph_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/graph/graphtest"
)

// e2e is Graph emulator → graph.Source → Syncer → autotask client →
// Autotask emulator, with the in-memory history.
type e2e struct {
	graph   *graphtest.Server
	at      *autotasktest.Server
	company int64
	sub     string // the nested group
	syncer  *adsync.Syncer
	org     adsync.Org
}

func newE2E(t *testing.T, fullReadEvery time.Duration) *e2e {
	t.Helper()
	g := newEnv(t, nil)
	at := autotasktest.NewServer(autotasktest.Options{TimeScale: 0.001})
	t.Cleanup(at.Close)
	cr := at.Credentials()
	store, err := autotask.New(autotask.Config{IntegrationCode: cr.IntegrationCode, Username: cr.Username, Secret: adsync.NewSecret(cr.Secret),
		ZoneLookupURL: at.ZoneLookupURL(), HTTPClient: at.Client()})
	require.NoError(t, err)
	s, err := adsync.NewSyncer(adsync.Options{Store: store, History: history.NewMemory(), Matcher: matcher.New(nil), Fields: merge.New})
	require.NoError(t, err)
	e := &e2e{graph: g.srv, at: at, company: at.AddCompany("Contoso"), syncer: s}
	cfg := adsync.OrgConfig{ID: "contoso", CompanyID: e.company, Enabled: true, Directory: adsync.DirectoryAzure,
		FullReadEvery: fullReadEvery}
	e.org = adsync.Org{Config: cfg, Source: g.src}
	// The scope: a group with a nested group, a device and a disabled user.
	sub := e.graph.AddGroup("", "Contoso Sales")
	e.sub = sub
	e.graph.AddMembers(g.gid, sub, e.graph.AddObject("", "#microsoft.graph.device", "Kiosk"))
	for i := range 1200 {
		u := graphtest.User{
			GivenName: "Pat", Surname: fmt.Sprintf("Member%04d", i), DisplayName: fmt.Sprintf("Pat Member%04d", i),
			Mail: fmt.Sprintf("pat%04d@contoso.example", i), UserPrincipalName: fmt.Sprintf("pat%04d@contoso.example", i),
			JobTitle: "Engineer", BusinessPhones: []string{fmt.Sprintf("+44 20 7946 %04d", i)},
			StreetAddress: "1 Long Lane\nSuite 5", City: "London", PostalCode: "EC1A 9HF", UsageLocation: "GB",
			Disabled: i == 7,
		}
		group := g.gid
		if i%3 == 0 {
			group = sub
		}
		e.graph.AddMembers(group, e.graph.PutUser(u))
	}
	return e
}

func (e *e2e) sync(t *testing.T) adsync.Run {
	t.Helper()
	run, err := e.syncer.Sync(context.Background(), e.org, adsync.TriggerForced)
	require.NoError(t, err)
	require.Equal(t, adsync.StatusSucceeded, run.Status, run.Error)
	return run
}

func (e *e2e) contactsByEmail() map[string]autotasktest.Fields {
	out := map[string]autotasktest.Fields{}
	for _, c := range e.at.Contacts(e.company) {
		out[fmt.Sprint(c["emailAddress"])] = c
	}
	return out
}

func gbCountryID() string {
	for _, c := range autotasktest.DefaultCountries() {
		if c.Code == "GB" {
			return fmt.Sprint(c.ID)
		}
	}
	return ""
}

func TestEndToEnd(t *testing.T) {
	e := newE2E(t, 0) // every run reads in full (the default)
	// Two contacts exist already: one is matched by email, and keeps its id.
	existing, err := e.at.SeedContact(e.company, autotasktest.Fields{"firstName": "Pat", "lastName": "Member0001",
		"emailAddress": "pat0001@contoso.example", "title": "Old title"})
	require.NoError(t, err)

	run := e.sync(t)
	assert.Equal(t, 1199, run.Counts.Read, "1200 members less the disabled one")
	assert.Equal(t, 1198, run.Counts.Created)
	assert.Equal(t, 1, run.Counts.Linked)
	contacts := e.contactsByEmail()
	require.Len(t, contacts, 1199)
	assert.NotContains(t, contacts, "pat0007@contoso.example", "R-SCOPE-8 disabled user not created")
	c := contacts["pat0042@contoso.example"]
	assert.Equal(t, "Pat", c["firstName"])
	assert.Equal(t, "Member0042", c["lastName"])
	assert.Equal(t, "Engineer", c["title"])
	assert.Equal(t, "+44 20 7946 0042", c["phone"], "businessPhones[0]")
	assert.Equal(t, "1 Long Lane", c["addressLine"])
	assert.Equal(t, "Suite 5", c["addressLine1"])
	assert.Equal(t, gbCountryID(), fmt.Sprint(c["countryID"]), "R-FIELD-6 usageLocation GB to Autotask's countryID")
	matched := contacts["pat0001@contoso.example"]
	assert.Equal(t, fmt.Sprint(existing), fmt.Sprint(matched["id"]), "matched, not duplicated")
	assert.Equal(t, "Engineer", matched["title"], "and updated from Graph")

	t.Run("a second run with no change writes nothing", func(t *testing.T) {
		run := e.sync(t)
		assert.Zero(t, run.Counts.Writes())
		assert.Equal(t, 1199, run.Counts.Unchanged)
	})

	t.Run("changes in Graph reach Autotask", func(t *testing.T) {
		ids := e.userIDs(t)
		e.graph.UpdateUser(ids["pat0010@contoso.example"], func(u *graphtest.User) { u.JobTitle = "Lead Engineer" })
		e.graph.RemoveMember(e.sub, ids["pat0003@contoso.example"]) // it was a member through the nested group only

		run := e.sync(t)
		assert.Equal(t, 1, run.Counts.Updated)
		assert.Equal(t, 1, run.Counts.Deactivated, "R-DEACT-1 left the nested group: deactivated")
		byEmail := e.contactsByEmail()
		assert.Equal(t, "Lead Engineer", byEmail["pat0010@contoso.example"]["title"])
		assert.EqualValues(t, 0, byEmail["pat0003@contoso.example"]["isActive"], "isActive = 0")
	})
}

// userIDs returns the Graph ids of the members by UPN.
func (e *e2e) userIDs(t *testing.T) map[string]string {
	t.Helper()
	us, err := readAll(t, e.org.Source)
	require.NoError(t, err)
	ids := map[string]string{}
	for _, u := range us {
		ids[u.UPN] = u.ID
	}
	return ids
}

func TestEndToEndIncremental(t *testing.T) {
	e := newE2E(t, 7*24*time.Hour) // a full read every 7 days, incremental between
	run := e.sync(t)
	require.True(t, run.FullRead)
	require.NotEmpty(t, run.Cursor, "the full read keeps a delta cursor")

	e.graph.UpdateUser(e.userIDs(t)["pat0020@contoso.example"], func(u *graphtest.User) { u.City = "Manchester" })
	e.graph.ResetRequests()
	run = e.sync(t)
	assert.False(t, run.FullRead, "an incremental read")
	assert.Equal(t, 1, run.Counts.Read, "only the changed member")
	assert.Equal(t, 1, run.Counts.Updated)
	assert.Equal(t, "Manchester", e.contactsByEmail()["pat0020@contoso.example"]["city"])
	assert.Equal(t, 1, e.graph.CountRequests("/users/delta"), "one delta page")
	assert.Zero(t, run.Counts.Deactivated, "an incremental read never deactivates")

	t.Run("an expired delta token falls back to a full read", func(t *testing.T) {
		e.graph.ExpireDeltaTokens(0)
		run := e.sync(t)
		assert.True(t, run.FullRead)
		assert.Equal(t, 1199, run.Counts.Read)
		assert.Zero(t, run.Counts.Writes())
		assert.True(t, strings.Contains(run.Cursor, "/users/delta"))
	})
}
