package console_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

// Secrets configured in the fixture: no page may contain them.
const (
	autotaskSecret = "at-secret-Zq81xWv3"
	adminPassword  = "correct horse battery staple"
)

// fixture is an MSP on emulators: the Autotask emulator, in-memory
// directories and history, and five organizations in the states the
// console shows:
//
//   - northwind: synced, with conflicts: two users sharing a mailbox
//     (R-CONF-1) and a user with two candidate contacts (R-CONF-3);
//   - contoso: its last run held 15 deactivations (R-DEACT-4);
//   - fabrikam: disabled, never run;
//   - tailspin: its last run failed (the directory is unreachable);
//   - adventure: its LDAP server's certificate expires soon (R-STATUS-2).
type fixture struct {
	at      *autotasktest.Server
	store   *autotask.Client
	hist    *history.Memory
	syncer  *adsync.Syncer
	orgs    []adsync.Org
	dirs    map[string]*sourcetest.Memory
	company map[string]int64
	// multi is the user of northwind's R-CONF-3 conflict, candidates its
	// two contacts.
	multi      string
	candidates []int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dirs: map[string]*sourcetest.Memory{}, company: map[string]int64{}}
	f.at = autotasktest.NewServer(autotasktest.Options{HourlyLimit: 1_000_000, Secret: autotaskSecret})
	t.Cleanup(f.at.Close)
	f.at.SetLatency(0)
	cr := f.at.Credentials()
	var err error
	f.store, err = autotask.New(autotask.Config{IntegrationCode: cr.IntegrationCode, Username: cr.Username, Secret: adsync.NewSecret(cr.Secret),
		ZoneLookupURL: f.at.ZoneLookupURL(), HTTPClient: f.at.Client()})
	require.NoError(t, err)
	f.hist = history.NewMemory()
	f.syncer, err = adsync.NewSyncer(adsync.Options{Store: f.store, History: f.hist, Matcher: matcher.New(nil), Fields: merge.New})
	require.NoError(t, err)

	add := func(id, name string, enabled bool, users int) *sourcetest.Memory {
		dir := sourcetest.NewMemory(nil)
		kind := adsync.DirectoryAzure
		if id == "adventure" {
			dir = sourcetest.NewMemory(&sourcetest.MemoryOptions{Status: adsync.ConnStatus{TLS: adsync.TLSExpiring}})
			kind = adsync.DirectoryLDAP
		}
		for i := range users {
			dir.Add(person(id, i))
		}
		f.company[id] = f.at.AddCompany(name)
		f.dirs[id] = dir
		f.orgs = append(f.orgs, adsync.Org{Source: dir, Config: adsync.OrgConfig{ID: id, Name: name, CompanyID: f.company[id],
			Enabled: enabled, Directory: kind}})
		return dir
	}
	nw := add("northwind", "Northwind Traders", true, 20)
	shared := person("northwind", 100)
	shared.Values[adsync.Email] = "info@northwind.example"
	nw.Add(shared)
	shared = person("northwind", 101)
	shared.Values[adsync.Email] = "info@northwind.example"
	nw.Add(shared)
	multi := person("northwind", 102)
	f.multi = nw.Add(multi)
	for range 2 {
		id, err := f.at.SeedContact(f.company["northwind"], autotasktest.Fields{"firstName": multi.Values[adsync.FirstName],
			"lastName": multi.Values[adsync.LastName], "emailAddress": multi.Values[adsync.Email]})
		require.NoError(t, err)
		f.candidates = append(f.candidates, id)
	}
	cs := add("contoso", "Contoso Ltd", true, 40)
	add("fabrikam", "Fabrikam Inc", false, 5)
	ts := add("tailspin", "Tailspin Toys", true, 5)
	add("adventure", "Adventure Works", true, 3)

	for _, o := range f.orgs {
		if o.Config.Enabled {
			_, err := f.syncer.Sync(ctx, o, adsync.TriggerScheduled)
			require.NoError(t, err, o.Config.ID)
		}
	}
	// contoso: 15 people leave the synced group; the guard holds them.
	var gone []string
	for i := range 15 {
		gone = append(gone, fmt.Sprintf("00000000-0000-0000-0000-%012d", i+1))
	}
	cs.Remove(gone...)
	run, err := f.syncer.Sync(ctx, f.org("contoso"), adsync.TriggerScheduled)
	require.NoError(t, err)
	require.Equal(t, adsync.StatusHeld, run.Status)
	// tailspin: the directory stops answering.
	// The error carries markup, as a server's message might: pages escape it.
	ts.FailCheck(fmt.Errorf("directory down <script>alert(1)</script>: %w", adsync.ErrUnavailable))
	_, err = f.syncer.Sync(ctx, f.org("tailspin"), adsync.TriggerScheduled)
	require.Error(t, err)
	return f
}

func (f *fixture) org(id string) adsync.Org {
	for _, o := range f.orgs {
		if o.Config.ID == id {
			return o
		}
	}
	panic("no organization " + id)
}

var (
	firstNames = []string{"Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Isabel", "Jonas"}
	lastNames  = []string{"Schmidt", "O'Brien", "Müller", "García", "Smith", "Nowak", "Rossi", "Dubois", "Jensen", "Kowalski", "Weber"}
)

func person(org string, i int) adsync.User {
	var v adsync.Values
	v[adsync.FirstName] = firstNames[i%len(firstNames)]
	v[adsync.LastName] = lastNames[(i/len(firstNames))%len(lastNames)]
	v[adsync.Email] = fmt.Sprintf("user%03d@%s.example", i, org)
	v[adsync.Title] = "Engineer"
	return adsync.User{Enabled: true, Name: v[adsync.FirstName] + " " + v[adsync.LastName], Values: v}
}
