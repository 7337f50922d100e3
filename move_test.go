package adsync_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/sourcetest"
)

func TestAnchorFromImmutableID(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		// objectGUID bytes 2c 4a 6f 0b ...: the first three fields are
		// little-endian, as source/ldap prints them.
		{"R-LINK-6 an AD objectGUID", "LEpvC7ZmQkSLg0mQDLK1Rg==", "0b6f4a2c-66b6-4442-8b83-49900cb2b546"},
		{"R-LINK-6 blank", "", ""},
		{"R-LINK-6 not base64", "not base64!", ""},
		{"R-LINK-6 not 16 bytes", "aGVsbG8=", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, adsync.AnchorFromImmutableID(tc.in))
			if tc.want != "" {
				assert.Equal(t, tc.in, adsync.ImmutableIDOf(tc.want), "the inverse")
			}
		})
	}
	assert.Empty(t, adsync.ImmutableIDOf("not a guid"))
}

// movedOrg is an organization of n users read from AD (ids are
// objectGUIDs) and the same people as Entra ID users synced from AD.
func movedOrg(n int) (ad, entra []adsync.User) {
	for i := range n {
		guid := fmt.Sprintf("0b6f4a2c-66b6-4442-8b83-%012d", i)
		u := with(user(guid, "First", fmt.Sprint("Last", i), fmt.Sprintf("user%d@contoso.example", i)), adsync.Title, "Engineer")
		ad = append(ad, u)
		g := u
		g.ID = fmt.Sprintf("9d3e5f10-1111-4222-8333-%012d", i)
		g.Anchor = guid
		entra = append(entra, g)
	}
	return ad, entra
}

func TestDirectoryMove(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name: "R-LINK-6 AD to Entra ID: every link carried over, no create, no deactivation",
			setup: func(e *env) {
				ad, _ := movedOrg(30)
				e.src.Put(ad...)
				require.Equal(e.t, 30, e.mustSync().Counts.Created)
			},
			check: func(t *testing.T, e *env) {
				_, entra := movedOrg(30)
				before := e.links()
				g := sourcetest.NewMemory(nil)
				entra[3].Values[adsync.Title] = "Lead Engineer" // a real difference
				g.Put(entra...)
				e.org.Source, e.org.Config.Directory = g, adsync.DirectoryAzure
				writes := e.writes()

				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				require.NotNil(t, p.Move)
				assert.Equal(t, adsync.MoveReport{CarriedOver: 30}, *p.Move)
				assert.Contains(t, p.String(), "# directory move [R-LINK-6]: 30 links carried over")

				run := e.mustSync()
				assert.Zero(t, run.Counts.Created)
				assert.Zero(t, run.Counts.Deactivated+run.Counts.Held)
				assert.Zero(t, run.Counts.Conflicts)
				assert.Equal(t, 1, run.Counts.Updated, "only the real difference is written")
				assert.Equal(t, writes+1, e.writes())
				after := e.links()
				require.Len(t, after, 30)
				for i, u := range entra {
					l, ok := after[u.ID]
					require.True(t, ok, "user %d is linked by its Graph id", i)
					assert.Equal(t, before[u.Anchor].ContactID, l.ContactID, "the same contact")
					assert.Equal(t, u.Anchor, l.Anchor, "the link keeps the anchor for a move back")
				}
				assert.Len(t, e.contacts(), 30)
				run = e.mustSync()
				assert.Zero(t, run.Counts.Writes(), "R-RUN-8 the next run writes nothing")
			},
		},
		{
			name: "R-LINK-6 users without an anchor are counted and matched as usual",
			setup: func(e *env) {
				ad, _ := movedOrg(5)
				e.src.Put(ad...)
				e.mustSync()
			},
			check: func(t *testing.T, e *env) {
				_, entra := movedOrg(5)
				entra[4].Anchor = "" // say a cloud-only account with the same email
				g := sourcetest.NewMemory(nil)
				g.Put(entra...)
				g.Put(user("cloud-only", "Cloud", "Only", "cloud@contoso.example"))
				e.org.Source = g
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				assert.Equal(t, adsync.MoveReport{CarriedOver: 4, NoAnchor: 2}, *p.Move)
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created, "the new cloud-only user")
				assert.Equal(t, 1, run.Counts.Held+run.Counts.Deactivated, "the user without an anchor left its old link behind")
			},
		},
		{
			name: "R-LINK-6 Entra ID back to AD where the link kept the anchor",
			setup: func(e *env) {
				ad, entra := movedOrg(12)
				e.src.Put(ad...)
				e.mustSync()
				g := sourcetest.NewMemory(nil)
				g.Put(entra...)
				e.org.Source = g
				e.mustSync()
			},
			check: func(t *testing.T, e *env) {
				ad, _ := movedOrg(12)
				back := sourcetest.NewMemory(nil)
				back.Put(ad...)
				e.org.Source = back
				run := e.mustSync()
				assert.Zero(t, run.Counts.Created+run.Counts.Deactivated+run.Counts.Held+run.Counts.Updated)
				links := e.links()
				require.Len(t, links, 12)
				for _, u := range ad {
					assert.Contains(t, links, u.ID)
					assert.Empty(t, links[u.ID].Anchor)
				}
			},
		},
		{
			name: "R-LINK-6 R-RUN-7 a move interrupted after saving the new keys drops the old ones, deactivating nothing",
			setup: func(e *env) {
				ad, _ := movedOrg(3)
				e.src.Put(ad...)
				e.mustSync()
			},
			check: func(t *testing.T, e *env) {
				_, entra := movedOrg(3)
				var moved []adsync.Link
				for _, l := range e.links() {
					for _, u := range entra {
						if u.Anchor == l.UserID {
							l.UserID, l.Anchor = u.ID, u.Anchor
							moved = append(moved, l)
						}
					}
				}
				require.NoError(t, e.hist.PutLinks(e.ctx, "contoso", moved)) // the old keys stay
				g := sourcetest.NewMemory(nil)
				g.Put(entra...)
				e.org.Source = g
				run := e.mustSync()
				assert.Zero(t, run.Counts.Deactivated+run.Counts.Held+run.Counts.Created)
				assert.Len(t, e.links(), 3, "the old keys are dropped")
			},
		},
	})
}
