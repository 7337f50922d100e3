package ldap_test

import (
	"context"
	"errors"
	"os"
	"sort"
	"strconv"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	adldap "github.com/psasync/adsync/source/ldap"
)

// readAll reads every user of src and returns them by id, failing on a
// duplicate id or a page larger than adsync.MaxPageSize.
func readAll(t *testing.T, src adsync.DirectorySource) (map[string]adsync.User, []int) {
	t.Helper()
	users := map[string]adsync.User{}
	var pages []int
	err := src.Users(context.Background(), func(p []adsync.User) error {
		pages = append(pages, len(p))
		require.NotEmpty(t, p, "an empty page")
		require.LessOrEqual(t, len(p), adsync.MaxPageSize)
		for _, u := range p {
			_, dup := users[u.ID]
			require.False(t, dup, "user %s delivered twice", u.Label())
			users[u.ID] = u
		}
		return nil
	})
	require.NoError(t, err)
	return users, pages
}

func names(users map[string]adsync.User) []string {
	var ns []string
	for _, u := range users {
		ns = append(ns, u.Name)
	}
	sort.Strings(ns)
	return ns
}

func newSource(t *testing.T, cfg adldap.Config) *adldap.Source {
	t.Helper()
	src, err := adldap.New(cfg)
	require.NoError(t, err)
	return src
}

// The seeded OU (scripts/samba/seed-ldif.sh, loaded with ldapadd over
// LDAPS) has thousands of users: read them with LDAP pages of 200 and
// compare with go-ldap's own buffered paging.
func TestReadManyUsersPaged(t *testing.T) {
	d := connectDC(t)
	ou, group := os.Getenv("ADSYNC_LDAP_SEED_OU"), os.Getenv("ADSYNC_LDAP_SEED_GROUP")
	n, _ := strconv.Atoi(os.Getenv("ADSYNC_LDAP_SEED_USERS"))
	if ou == "" || n <= 1000 {
		t.Skip("needs the seeded OU with more than 1,000 users (ADSYNC_LDAP_SEED_OU, ADSYNC_LDAP_SEED_USERS); run ./scripts/test.sh")
	}
	// What go-ldap's SearchWithPaging finds, independently of the Source.
	want := func(filter string) map[string]string {
		res, err := d.conn.SearchWithPaging(ldap.NewSearchRequest(ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, []string{"objectGUID", "mail"}, nil), 1000)
		require.NoError(t, err)
		m := map[string]string{}
		for _, e := range res.Entries {
			m[adldap.GUIDString(e.GetRawAttributeValue("objectGUID"))] = e.GetAttributeValue("mail")
		}
		return m
	}
	all := want("(&(objectCategory=person)(objectClass=user))")
	enabled := want("(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))")
	require.Greater(t, len(all), 1000)
	require.Less(t, len(enabled), len(all), "the seed has disabled users")

	for _, tc := range []struct {
		name     string
		pageSize int
		group    string
	}{
		{"R-SCOPE-8 page size 200, disabled accounts delivered disabled", 200, ""},
		{"R-SCOPE-7 LDAP pages of 1000 are handed over in pages of 500", 1000, ""},
		{"R-SCOPE-5 nested group of every seeded user", 200, group},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := d.env.config(ou)
			cfg.PageSize, cfg.GroupDN = tc.pageSize, tc.group
			users, pages := readAll(t, newSource(t, cfg))
			require.Len(t, users, len(all))
			for id, u := range users {
				mail, ok := all[id]
				require.True(t, ok, "unexpected user %s", u.Label())
				assert.Equal(t, mail, u.Values[adsync.Email])
				_, on := enabled[id]
				assert.Equal(t, on, u.Enabled, "%s enabled", u.Label())
			}
			for _, p := range pages[:len(pages)-1] {
				assert.Equal(t, adsync.MaxPageSize, p, "every page but the last is full")
			}
		})
	}
}

// Scope (R-SCOPE-5, R-SCOPE-8): base, nested groups, OUs, raw filter and
// disabled accounts, combined as an AND.
func TestScope(t *testing.T) {
	d := connectDC(t)
	root := d.newOU("scope", "")
	sales := d.newOU("Sales", root)
	emea := d.newOU("EMEA", sales)
	ops := d.newOU("Ops", root)
	other := d.newOU("Other", root)
	u := func(ou, cn, dept string, disabled bool) string {
		return d.addUser(ou, person{CN: cn, Given: cn, Sn: "Test", Title: dept, Disabled: disabled})
	}
	alice := u(sales, "alice", "sales", false)
	bob := u(emea, "bob", "sales", false)
	carol := u(ops, "carol", "ops", false)
	dave := u(ops, "dave", "ops", true)
	erin := u(other, "erin", "sales", false)
	inner := d.addGroup(root, "Inner (EU)", bob, dave)
	d.addGroup(root, "Outer", alice, inner)
	_ = carol
	_ = erin

	for _, tc := range []struct {
		name string
		cfg  func(*adldap.Config)
		want []string
	}{
		{"R-SCOPE-8 base DN subtree, disabled accounts delivered disabled", func(c *adldap.Config) {}, []string{"alice", "bob", "carol", "dave", "erin"}},
		{"R-SCOPE-5 nested group membership (in-chain)", func(c *adldap.Config) {
			c.GroupDN = "CN=Outer," + root
		}, []string{"alice", "bob", "dave"}},
		{"R-SCOPE-5 direct members only", func(c *adldap.Config) {
			c.GroupDN, c.DirectMembersOnly = "CN=Outer,"+root, true
		}, []string{"alice"}},
		{"R-SCOPE-5 group DN with parentheses is escaped", func(c *adldap.Config) {
			c.GroupDN = inner
		}, []string{"bob", "dave"}},
		{"R-SCOPE-5 any of several OUs, subtrees", func(c *adldap.Config) {
			c.OUs = []string{sales, ops}
		}, []string{"alice", "bob", "carol", "dave"}},
		{"R-SCOPE-5 nested OU listed with its parent is read once", func(c *adldap.Config) {
			c.OUs = []string{emea, sales}
		}, []string{"alice", "bob"}},
		{"R-SCOPE-5 raw filter", func(c *adldap.Config) { c.Filter = "(title=sales)" }, []string{"alice", "bob", "erin"}},
		{"R-SCOPE-5 raw filter AND group AND OU", func(c *adldap.Config) {
			c.Filter, c.GroupDN, c.OUs = "(|(title=sales)(title=ops))", "CN=Outer,"+root, []string{emea}
		}, []string{"bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := d.env.config(root)
			cfg.PageSize = 2 // several LDAP pages even here
			tc.cfg(&cfg)
			users, _ := readAll(t, newSource(t, cfg))
			assert.Equal(t, tc.want, names(users))
			for _, u := range users {
				assert.Equal(t, u.Name != "dave", u.Enabled, "%s enabled", u.Name)
			}
		})
	}
}

// Values: the §5 field map, two-line streetAddress, c, names in several
// scripts, overrides and the UPN fallback (R-MATCH-8).
func TestValues(t *testing.T) {
	d := connectDC(t)
	ou := d.newOU("values", "")
	full := person{
		CN: "Zoë Ñúñez-Łukasiewicz", Given: "Zoë", Sn: "Ñúñez-Łukasiewicz", Initials: "Q", Middle: "Quinn",
		Mail: "zoe@example.com", UPN: "zoe@" + d.env.Realm, Title: "Directrice générale", Phone: "+33 1 23 45 67 89",
		Mobile: "+33 6 12 34 56 78", Street: "12 rue de l'Église\r\nBâtiment B\r\n3e étage", City: "Paris",
		State: "Île-de-France", Zip: "75001", Country: "FR", Office: "B-301",
	}
	d.addUser(ou, full)
	d.addUser(ou, person{CN: "Иван Петров", Given: "Иван", Sn: "Петров", UPN: "ivan@" + d.env.Realm})
	d.addUser(ou, person{CN: "佐藤 美咲", Given: "美咲", Sn: "佐藤", Mail: "misaki@example.jp"})

	byName := func(users map[string]adsync.User) map[string]adsync.User {
		m := map[string]adsync.User{}
		for _, u := range users {
			m[u.Name] = u
		}
		return m
	}
	t.Run("default field map", func(t *testing.T) {
		users := byName(mustRead(t, d.env.config(ou)))
		require.Len(t, users, 3)
		z := users[full.CN]
		var want adsync.Values
		want[adsync.FirstName], want[adsync.LastName], want[adsync.MiddleInitial] = "Zoë", "Ñúñez-Łukasiewicz", "Q"
		want[adsync.Email], want[adsync.Title], want[adsync.Phone] = full.Mail, full.Title, full.Phone
		want[adsync.MobilePhone], want[adsync.City], want[adsync.State] = full.Mobile, full.City, full.State
		want[adsync.AddressLine], want[adsync.AddressLine2] = "12 rue de l'Église", "Bâtiment B, 3e étage"
		want[adsync.ZipCode], want[adsync.CountryID], want[adsync.RoomNumber] = "75001", "FR", "B-301"
		assert.Equal(t, want, z.Values)
		assert.Equal(t, full.UPN, z.UPN)
		assert.True(t, z.Enabled)
		assert.Equal(t, "Иван", users["Иван Петров"].Values[adsync.FirstName])
		assert.Equal(t, "", users["Иван Петров"].Values[adsync.Email], "R-MATCH-8 no UPN fallback: the Syncer's")
		assert.Equal(t, "ivan@"+d.env.Realm, users["Иван Петров"].UPN, "the UPN the Syncer may fall back to")
		assert.Equal(t, "佐藤", users["佐藤 美咲"].Values[adsync.LastName])
		// The id is the canonical objectGUID: the DC finds the object by it.
		assert.Equal(t, "CN="+full.CN+","+ou, d.dnOfGUID(z.ID))
	})
	t.Run("attribute override", func(t *testing.T) {
		cfg := d.env.config(ou)
		cfg.Attributes = map[adsync.Field]string{adsync.MiddleInitial: "middleName", adsync.Title: "physicalDeliveryOfficeName"}
		users := byName(mustRead(t, cfg))
		assert.Equal(t, "Quinn", users[full.CN].Values[adsync.MiddleInitial])
		assert.Equal(t, "B-301", users[full.CN].Values[adsync.Title])
	})
}

func mustRead(t *testing.T, cfg adldap.Config) map[string]adsync.User {
	t.Helper()
	users, _ := readAll(t, newSource(t, cfg))
	return users
}

// R-LINK-1: the id is objectGUID, so a rename and a move keep it; a user
// removed from the group leaves the scope (R-DEACT-1 is then the Syncer's).
func TestIdentityAndMembership(t *testing.T) {
	d := connectDC(t)
	root := d.newOU("identity", "")
	a := d.newOU("A", root)
	b := d.newOU("B", root)
	ann := d.addUser(a, person{CN: "Ann Old", Given: "Ann", Sn: "Old"})
	ben := d.addUser(a, person{CN: "Ben", Given: "Ben", Sn: "Stay"})
	group := d.addGroup(root, "Staff", ann, ben)
	cfg := d.env.config(root)
	cfg.GroupDN = group
	src := newSource(t, cfg)

	before, _ := readAll(t, src)
	annID := d.guidOf(ann)
	require.Contains(t, before, annID)

	t.Run("R-LINK-1 renamed and moved user keeps its id", func(t *testing.T) {
		require.NoError(t, d.conn.ModifyDN(ldap.NewModifyDNRequest(ann, "CN=Ann New", true, b)))
		ann = "CN=Ann New," + b
		d.modify(ann, map[string]string{"sn": "New"})
		after, _ := readAll(t, src)
		require.Contains(t, after, annID)
		assert.Equal(t, "Ann New", after[annID].Name)
		assert.Equal(t, "New", after[annID].Values[adsync.LastName])
		assert.Len(t, after, 2)
	})
	t.Run("R-DEACT-1 user removed from the group leaves scope", func(t *testing.T) {
		d.setMembers(group, nil, []string{ann})
		after, _ := readAll(t, src)
		assert.NotContains(t, after, annID)
		assert.Contains(t, after, d.guidOf(ben))
	})
}

// R-DEACT-3: a read cut short returns an error: the page callback's own,
// or the context's.
func TestReadStops(t *testing.T) {
	d := connectDC(t)
	ou := d.newOU("stops", "")
	for i := range 7 {
		d.addUser(ou, person{CN: "stop" + strconv.Itoa(i), Given: "S", Sn: "T"})
	}
	cfg := d.env.config(ou)
	cfg.PageSize = 2
	src := newSource(t, cfg)

	t.Run("R-DEACT-3 the page callback's error stops the read", func(t *testing.T) {
		stop := errors.New("stop here")
		calls := 0
		err := src.Users(context.Background(), func([]adsync.User) error { calls++; return stop })
		require.ErrorIs(t, err, stop)
		assert.Equal(t, 1, calls)
	})
	t.Run("R-DEACT-3 a cancelled context stops the read", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := src.Users(ctx, func([]adsync.User) error { return nil })
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("R-DEACT-3 cancelled mid-read", func(t *testing.T) {
		seed := os.Getenv("ADSYNC_LDAP_SEED_OU")
		if seed == "" {
			t.Skip("needs the seeded OU (ADSYNC_LDAP_SEED_OU); run ./scripts/test.sh")
		}
		cfg := d.env.config(seed)
		cfg.PageSize = 200
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		err := newSource(t, cfg).Users(ctx, func([]adsync.User) error { calls++; cancel(); return nil })
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, calls)
	})
}
