package ldap_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	adldap "github.com/psasync/adsync/source/ldap"
)

// End to end: Samba AD → Syncer → Autotask emulator, with the SQLite
// history store. A group's members become contacts; a change in AD updates
// the contact; leaving the group deactivates it; coming back reactivates
// the same contact (R-LINK-3).
func TestEndToEnd(t *testing.T) {
	d := connectDC(t)
	ctx := context.Background()
	root := d.newOU("e2e", "")
	alice := d.addUser(root, person{CN: "Alice Émilie Durand", Given: "Alice", Sn: "Durand", Mail: "alice@acme.example",
		Title: "Ingénieure", Street: "12 rue de l'Église\r\nBâtiment B", City: "Lyon", Zip: "69001", Country: "FR"})
	bob := d.addUser(root, person{CN: "Bob Stone", Given: "Bob", Sn: "Stone", Mail: "bob@acme.example", Title: "Sales"})
	carol := d.addUser(root, person{CN: "Carol Wu", Given: "Carol", Sn: "Wu", Mail: "carol@acme.example"})
	inner := d.addGroup(root, "Sales", bob)
	group := d.addGroup(root, "PSA Contacts", alice, carol, inner) // nested: bob through Sales
	aliceID, bobID, carolID := d.guidOf(alice), d.guidOf(bob), d.guidOf(carol)

	srv := autotasktest.NewServer(autotasktest.Options{TimeScale: 0.001})
	t.Cleanup(srv.Close)
	company := srv.AddCompany("Acme")
	// Bob already is a contact: he is linked by email, not created (R-MATCH-1).
	bobContact, err := srv.SeedContact(company, autotasktest.Fields{"firstName": "Robert", "lastName": "Stone", "emailAddress": "bob@acme.example"})
	require.NoError(t, err)
	cr := srv.Credentials()
	store, err := autotask.New(autotask.Config{IntegrationCode: cr.IntegrationCode, Username: cr.Username, Secret: adsync.NewSecret(cr.Secret),
		ZoneLookupURL: srv.ZoneLookupURL(), HTTPClient: srv.Client()})
	require.NoError(t, err)
	hist, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "adsync.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { hist.Close() })

	clock := &stepClock{now: time.Now()}
	advance := clock.advance
	syncer, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil), Fields: merge.New, Clock: clock})
	require.NoError(t, err)

	cfg := d.env.config(root)
	cfg.GroupDN = group
	src, err := adldap.New(cfg)
	require.NoError(t, err)
	org := adsync.Org{Config: adsync.OrgConfig{ID: "acme", CompanyID: company, Enabled: true, Directory: adsync.DirectoryLDAP,
		FullReadEvery: 7 * 24 * time.Hour}, Source: src}

	sync := func(name string) adsync.Run {
		t.Helper()
		advance(time.Minute)
		run, err := syncer.Sync(ctx, org, adsync.TriggerForced)
		require.NoError(t, err, name)
		require.Equal(t, adsync.StatusSucceeded, run.Status, "%s: %s", name, run.Error)
		assert.Equal(t, adsync.TLSOK, run.TLS, "%s: R-STATUS-2 the run records the TLS status", name)
		return run
	}
	contact := func(id int64) autotasktest.Fields {
		t.Helper()
		c, ok := srv.Contact(id)
		require.True(t, ok, "contact %d", id)
		return c
	}
	contactOf := func(userID string) int64 {
		t.Helper()
		l, err := hist.Links(ctx, "acme")
		require.NoError(t, err)
		for _, k := range l {
			if k.UserID == userID {
				return k.ContactID
			}
		}
		t.Fatalf("user %s has no link", userID)
		return 0
	}

	// 1. Create: Alice and Carol are created, Bob is linked to his contact.
	run := sync("first run")
	assert.Equal(t, 3, run.Counts.Read)
	assert.Equal(t, 2, run.Counts.Created, "R-MATCH-5")
	assert.Equal(t, 1, run.Counts.Linked, "R-MATCH-1")
	assert.True(t, run.FullRead)
	require.Len(t, srv.Contacts(company), 3)
	aliceContact := contactOf(aliceID)
	a := contact(aliceContact)
	assert.Equal(t, "Alice", a["firstName"])
	assert.Equal(t, "Ingénieure", a["title"])
	assert.Equal(t, "12 rue de l'Église", a["addressLine"])
	assert.Equal(t, "Bâtiment B", a["addressLine1"])
	assert.NotNil(t, a["countryID"], "R-FIELD-6 c=FR becomes a countryID")
	assert.Equal(t, bobContact, contactOf(bobID))
	assert.Equal(t, "Sales", contact(bobContact)["title"])

	// 2. Update, read incrementally: only Alice changed.
	d.modify(alice, map[string]string{"title": "Directrice", "l": "Paris"})
	run = sync("update")
	assert.False(t, run.FullRead, "within FullReadEvery the read is incremental")
	assert.Equal(t, 1, run.Counts.Updated)
	a = contact(aliceContact)
	assert.Equal(t, "Directrice", a["title"])
	assert.Equal(t, "Paris", a["city"])

	// 3. Nothing changed: nothing written (R-RUN-8).
	run = sync("idle")
	assert.Equal(t, 0, run.Counts.Writes())

	// 4. Disabled in AD: the incremental read delivers the account
	// disabled, and its contact is deactivated at once (R-SCOPE-8).
	d.modify(carol, map[string]string{"userAccountControl": "514"})
	run = sync("disable")
	assert.False(t, run.FullRead)
	assert.Equal(t, 1, run.Counts.Deactivated, "R-SCOPE-8")
	assert.EqualValues(t, 0, contact(contactOf(carolID))["isActive"])

	// 5. Left the group: membership is not a change of the user, so only
	// the periodic full read sees it (R-DEACT-1, R-DEACT-3).
	d.setMembers(group, nil, []string{alice})
	run = sync("leave, incremental")
	assert.Zero(t, run.Counts.Deactivated, "an incremental read cannot see who left")
	advance(8 * 24 * time.Hour)
	run = sync("leave")
	assert.True(t, run.FullRead, "past FullReadEvery the read is full")
	assert.Equal(t, 1, run.Counts.Deactivated, "R-DEACT-1")
	assert.EqualValues(t, 0, contact(aliceContact)["isActive"])
	assert.EqualValues(t, 0, contact(contactOf(carolID))["isActive"])
	assert.EqualValues(t, 1, contact(bobContact)["isActive"])

	// 6. Return: the same contact is reactivated, none is created (R-LINK-3).
	d.setMembers(group, []string{alice}, nil)
	advance(8 * 24 * time.Hour)
	run = sync("return")
	assert.Equal(t, 1, run.Counts.Reactivated, "R-LINK-3")
	assert.Equal(t, 0, run.Counts.Created)
	assert.Equal(t, aliceContact, contactOf(aliceID))
	assert.EqualValues(t, 1, contact(aliceContact)["isActive"])
	assert.Len(t, srv.Contacts(company), 3, "no contact is ever created twice or deleted")
}

// stepClock is a clock the test moves by hand.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *stepClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// NewTimer never fires: no Scheduler runs on this clock.
func (c *stepClock) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	return make(chan time.Time), func() bool { return true }
}
