package adsync

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// namesOnly are field rules for the planner's own tests: first and last
// name, written when they differ.
type namesOnly struct{}

func (namesOnly) Update(u *User, c *Contact) (ContactUpdate, []Warning) {
	var up ContactUpdate
	for _, f := range []Field{FirstName, LastName} {
		if u.Values[f] != "" && u.Values[f] != c.Values[f] {
			up.Fields = up.Fields.With(f)
			up.Values[f] = u.Values[f]
		}
	}
	return up, nil
}

func (namesOnly) Create(u *User) (Values, []Warning, error) { return u.Values, nil, nil }

// TestPlanFromIsPure plans from a reading built by hand: no Syncer, no
// store, no history (the planner is a pure function of what a run read).
func TestPlanFromIsPure(t *testing.T) {
	now := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	mkUser := func(id, first, last string) *User {
		u := &User{ID: id, Enabled: true}
		u.Values[FirstName], u.Values[LastName] = first, last
		return u
	}
	mkContact := func(id int64, first, last string) *Contact {
		c := &Contact{ID: id, CompanyID: 7, Active: true}
		c.Values[FirstName], c.Values[LastName] = first, last
		return c
	}
	r := &reading{
		tls:      TLSOK,
		dirRead:  dirRead{users: []*User{mkUser("linked", "Ann", "Leigh"), mkUser("new", "Bob", "Ray")}, full: true},
		contacts: []*Contact{mkContact(1, "Ann", "Lee"), mkContact(2, "Cy", "Oh")},
		links: []Link{
			{OrgID: "o", UserID: "linked", ContactID: 1, Active: true},
			{OrgID: "o", UserID: "left", ContactID: 2, Active: true},
		},
		rules:   namesOnly{},
		canBill: true,
	}
	before := slices.Clone(r.links)
	asked := 0
	m := MatcherFunc(func(_ context.Context, in MatchInput) ([]Decision, error) {
		asked++
		require.Len(t, in.Users, 1)
		return []Decision{{UserID: in.Users[0].ID, Action: ActionCreate}}, nil
	})
	cfg := &OrgConfig{ID: "o", CompanyID: 7, Enabled: true, Directory: DirectoryLDAP, Guard: Guard{Off: true}}
	p, err := planFrom(t.Context(), cfg, r, planParams{matcher: m, now: now, log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	assert.Equal(t, 1, asked, "the matcher is asked once, for the unlinked user")
	kinds := map[string]ChangeKind{}
	for _, ch := range p.Changes {
		kinds[ch.UserID] = ch.Kind
	}
	assert.Equal(t, map[string]ChangeKind{"linked": ChangeUpdate, "new": ChangeCreate, "left": ChangeDeactivate}, kinds,
		"R-LINK-2 update, R-MATCH-5 create, R-DEACT-1 deactivate")
	assert.Equal(t, TLSOK, p.TLS)
	assert.Equal(t, 2, p.Counts.Read)
	assert.Equal(t, before, r.links, "the reading is left as read")
}
