package adsync_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
)

// ruleCase is one end-to-end case of the sync rules: set up the directory
// and Autotask, run, check.
type ruleCase struct {
	name  string
	opts  []envOption
	setup func(e *env)
	check func(t *testing.T, e *env)
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			if tc.setup != nil {
				tc.setup(e)
			}
			tc.check(t, e)
		})
	}
}

func TestScopeRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name: "R-SCOPE-1 nothing is written to the directory",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@contoso.example"))
			},
			check: func(t *testing.T, e *env) {
				before, _ := e.src.User("u1")
				e.mustSync()
				after, _ := e.src.User("u1")
				assert.Equal(t, before, after, "the directory user is untouched")
				c := e.src.Counts()
				assert.Equal(t, 1, c.FullReads, "the sync only reads the directory")
			},
		},
		{
			name: "R-SCOPE-6 contacts of another company are never candidates",
			setup: func(e *env) {
				var v adsync.Values
				v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = "Ann", "Lee", "ann@contoso.example"
				e.store.Seed(adsync.Contact{CompanyID: otherCompany, Active: true, Values: v})
				e.src.Put(user("u1", "Ann", "Lee", "ann@contoso.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created)
				require.Len(t, e.contacts(), 1, "a contact is created in the configured company")
				assert.Len(t, e.store.All(otherCompany), 1, "the other company is untouched")
			},
		},
		{
			name: "R-SCOPE-7 more users than the cap fails before any write",
			opts: []envOption{withConfig(func(c *adsync.OrgConfig) { c.MaxUsers = 3 })},
			setup: func(e *env) {
				for i := range 4 {
					e.src.Put(user(fmt.Sprint("u", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
				}
			},
			check: func(t *testing.T, e *env) {
				run, err := e.sync()
				require.ErrorIs(t, err, adsync.ErrUserCap)
				var ce *adsync.CapError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, 3, ce.Limit)
				assert.Equal(t, 4, ce.Count)
				assert.Contains(t, err.Error(), "more than 3 users")
				assert.Equal(t, adsync.StatusFailed, run.Status)
				assert.Zero(t, e.writes(), "nothing is written")
				assert.Empty(t, e.links())
			},
		},
		{
			name: "R-SCOPE-8 disabled users are not created and their contacts are deactivated",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
				e.mustSync()
				require.NoError(e.t, e.src.SetEnabled("u1", false))
				e.src.Put(adsync.User{ID: "u3", Values: user("", "Cy", "Oh", "cy@x.example").Values}) // disabled, new
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Deactivated, "the disabled user's contact is deactivated")
				assert.Zero(t, run.Counts.Created, "a disabled user is never created")
				l := e.links()["u1"]
				assert.False(t, e.contact(l.ContactID).Active)
				assert.Len(t, e.contacts(), 2)
			},
		},
		{
			name: "R-SCOPE-8 include disabled keeps them in scope",
			opts: []envOption{withConfig(func(c *adsync.OrgConfig) { c.IncludeDisabled = true })},
			setup: func(e *env) {
				e.src.Put(adsync.User{ID: "u3", Values: user("", "Cy", "Oh", "cy@x.example").Values})
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created)
			},
		},
	})
}

func TestLinkRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name: "R-LINK-1 a link is keyed by the user id; a changed email updates the same contact",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
				e.mustSync()
				e.src.Put(user("u1", "Ann", "Lee", "ann.lee@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Updated)
				assert.Zero(t, run.Counts.Created)
				cs := e.contacts()
				require.Len(t, cs, 1)
				assert.Equal(t, "ann.lee@x.example", cs[0].Values[adsync.Email])
			},
		},
		{
			name: "R-LINK-2 a linked user is never matched again",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
				e.mustSync()
				e.seed("Ann", "Lee", "ann@x.example", true) // a second candidate appears
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Zero(t, run.Counts.Conflicts, "no R-CONF-3 for a linked user")
				assert.Zero(t, run.Counts.Linked)
				assert.Equal(t, 1, run.Counts.Unchanged)
			},
		},
		{
			name: "R-LINK-3 a user who leaves and returns gets the same contact back, reactivated",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
				e.mustSync()
				require.NoError(e.t, e.src.SetInScope("u1", false))
				run := e.mustSync()
				require.Equal(e.t, 1, run.Counts.Deactivated)
				e.src.Put(with(user("u1", "Ann", "Lee", "ann@x.example"), adsync.Title, "CFO"))
			},
			check: func(t *testing.T, e *env) {
				id := e.links()["u1"].ContactID
				require.False(t, e.contact(id).Active)
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Reactivated)
				c := e.contact(id)
				assert.True(t, c.Active)
				assert.Equal(t, "CFO", c.Values[adsync.Title], "reactivated and updated")
				assert.Len(t, e.contacts(), 2)
			},
		},
		{
			name: "R-LINK-4 a link to a contact that no longer exists is dropped and the user matched again",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
				e.mustSync()
				require.True(e.t, e.store.Delete(e.links()["u1"].ContactID), "someone deletes the contact in Autotask")
			},
			check: func(t *testing.T, e *env) {
				old := e.links()["u1"].ContactID
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created, "matched again: no candidate left, so created")
				assert.NotEqual(t, old, e.links()["u1"].ContactID)
			},
		},
		{
			name: "R-LINK-5 a contact is linked to at most one user, whatever the matcher says",
			opts: []envOption{withSyncerOptions(func(o *adsync.Options) {
				o.Matcher = adsync.MatcherFunc(func(_ context.Context, in adsync.MatchInput) ([]adsync.Decision, error) {
					var ds []adsync.Decision
					for _, u := range in.Users {
						ds = append(ds, adsync.Decision{UserID: u.ID, Action: adsync.ActionLink, ContactID: in.Contacts[0].ID, Rule: "custom"})
					}
					return ds, nil
				})
			})},
			setup: func(e *env) {
				e.seed("Ann", "Lee", "ann@x.example", true)
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Linked)
				assert.Equal(t, 1, run.Counts.Conflicts)
				cs := e.conflicts()
				require.Len(t, cs, 1)
				assert.Equal(t, adsync.ConflictContactLinked, cs[0].Kind)
			},
		},
	})
}

func TestMatchRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name: "R-MATCH-1 email on one active contact links it",
			setup: func(e *env) {
				e.seed("Annie", "Lee-Smith", " ANN@x.example ", true)
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Linked)
				assert.Zero(t, run.Counts.Created)
				c := e.contacts()[0]
				assert.Equal(t, "Ann", c.Values[adsync.FirstName], "linked and updated")
			},
		},
		{
			name: "R-MATCH-2 email on one inactive contact links and reactivates it",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "ann@x.example", false)
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				// A reactivation, counted once, as R-LINK-3's are.
				assert.Equal(t, 1, run.Counts.Reactivated)
				assert.Zero(t, run.Counts.Linked)
				assert.Equal(t, 1, run.Counts.Writes())
				assert.Equal(t, "u1", e.links()["u1"].UserID, "linked")
				assert.True(t, e.contacts()[0].Active)
			},
		},
		{
			name: "R-MATCH-3 normalized name on one active contact links it",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "", true)
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Linked)
				assert.Equal(t, "ann@x.example", e.contacts()[0].Values[adsync.Email], "email filled in")
			},
		},
		{
			name: "R-MATCH-4 name on one inactive contact links and reactivates it",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "old@elsewhere.example", false)
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Reactivated, "counted as a reactivation")
				assert.Zero(t, run.Counts.Linked)
				cs := e.contacts()
				require.Len(t, cs, 1)
				assert.True(t, cs[0].Active)
			},
		},
		{
			name: "R-MATCH-5 no match creates a contact in the company",
			setup: func(e *env) {
				e.seed("Zed", "Zo", "zed@x.example", true)
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created)
				assert.Len(t, e.contacts(), 2)
				assert.True(t, e.links()["u1"].Created)
			},
		},
		{
			name: "R-MATCH-6 names match after normalization",
			setup: func(e *env) {
				e.seed("Jose", "OBrien", "", true)
				e.src.Put(user("u1", "José", "O'Brien", ""))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Linked)
			},
		},
		{
			name: "R-MATCH-7 a middle initial on one side only prevents the name match",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "", true)
				e.src.Put(with(user("u1", "Ann", "Lee", ""), adsync.MiddleInitial, "Q"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created)
			},
		},
		{
			name: "R-MATCH-8 the UPN stands in for a blank mail when enabled",
			opts: []envOption{withConfig(func(c *adsync.OrgConfig) { c.EmailFromUPN = true })},
			setup: func(e *env) {
				e.seed("Annie", "L", "ann@x.example", true)
				u := user("u1", "Ann", "Lee", "")
				u.UPN = "ann@x.example"
				e.src.Put(u)
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Linked)
			},
		},
		{
			name: "R-MATCH-8 the UPN is not used by default",
			setup: func(e *env) {
				e.seed("Annie", "L", "ann@x.example", true)
				u := user("u1", "Ann", "Lee", "")
				u.UPN = "ann@x.example"
				e.src.Put(u)
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created)
			},
		},
		{
			name: "R-MATCH-9 a user without email is matched by name",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "ann@x.example", true)
				e.src.Put(user("u1", "Ann", "Lee", ""))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Linked)
				assert.Equal(t, "ann@x.example", e.contacts()[0].Values[adsync.Email], "R-FIELD-1 blank does not overwrite")
			},
		},
	})
}

func TestConflictRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name: "R-CONF-1 duplicate directory email writes nothing for either user",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "A@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 2, run.Counts.Conflicts)
				assert.Zero(t, e.writes())
				for _, c := range e.conflicts() {
					assert.Equal(t, adsync.ConflictDuplicateEmail, c.Kind)
				}
			},
		},
		{
			name: "R-CONF-1 resolving one of two users who share an email leaves the other in conflict",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "shared@x.example"), user("u2", "Bob", "Ray", "shared@x.example"))
				e.mustSync()
				require.NoError(e.t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u1", Action: adsync.ResolveCreate}))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created, "only the resolved user")
				cs := e.conflicts()
				require.Len(t, cs, 1)
				assert.Equal(t, "u2", cs[0].UserID)
				assert.Equal(t, adsync.ConflictDuplicateEmail, cs[0].Kind)
			},
		},
		{
			name: "R-CONF-2 duplicate name blocks creation but an email match still links",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "a1@x.example", true)
				e.src.Put(user("u1", "Ann", "Lee", "a1@x.example"), user("u2", "Ann", "Lee", "a2@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Linked)
				assert.Zero(t, run.Counts.Created)
				cs := e.conflicts()
				require.Len(t, cs, 1)
				assert.Equal(t, "u2", cs[0].UserID)
				assert.Equal(t, adsync.ConflictDuplicateName, cs[0].Kind)
			},
		},
		{
			name: "R-CONF-3 two active contacts with the email is a conflict, not a create",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "a@x.example", true)
				e.seed("Ann", "Lee", "a@x.example", true)
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Conflicts)
				assert.Zero(t, e.writes())
				cs := e.conflicts()
				require.Len(t, cs, 1)
				assert.Len(t, cs[0].Candidates, 2)
			},
		},
		{
			name: "R-CONF-4 the only candidate linked to another user is a conflict",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
				e.mustSync()
				e.src.Put(user("u2", "Ann", "Lee", "other@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Conflicts)
				cs := e.conflicts()
				require.Len(t, cs, 1)
				assert.Equal(t, adsync.ConflictContactLinked, cs[0].Kind)
				assert.Equal(t, []string{"u1"}, cs[0].OtherUsers)
			},
		},
		{
			name: "R-CONF-5 conflicts are recomputed and clear themselves; first seen is kept",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "a@x.example"))
				e.mustSync()
			},
			check: func(t *testing.T, e *env) {
				first := e.conflicts()
				require.Len(t, first, 2)
				e.mustSync()
				again := e.conflicts()
				require.Len(t, again, 2)
				assert.True(t, again[0].FirstSeen.Equal(first[0].FirstSeen))
				assert.True(t, again[0].LastSeen.After(first[0].LastSeen))
				e.src.Put(user("u2", "Bob", "Ray", "bob@x.example"))
				run := e.mustSync()
				assert.Empty(t, e.conflicts(), "fixed in the directory: the conflict clears")
				assert.Equal(t, 2, run.Counts.Created)
			},
		},
		{
			name: "R-CONF-6 resolutions: link to a contact, create, ignore; and undo",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "a@x.example", true)
				e.seed("Ann", "Lee", "a@x.example", true)
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"), user("u3", "Cy", "Oh", "b@x.example"))
				e.mustSync()
			},
			check: func(t *testing.T, e *env) {
				require.Len(t, e.conflicts(), 3)
				target := e.contacts()[1].ID
				cfg := e.org.Config
				require.NoError(t, e.syncer.Resolve(e.ctx, cfg, adsync.Resolution{UserID: "u1", Action: adsync.ResolveLink, ContactID: target}))
				require.NoError(t, e.syncer.Resolve(e.ctx, cfg, adsync.Resolution{UserID: "u2", Action: adsync.ResolveCreate}))
				require.NoError(t, e.syncer.Resolve(e.ctx, cfg, adsync.Resolution{UserID: "u3", Action: adsync.ResolveIgnore}))
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Linked)
				assert.Equal(t, 1, run.Counts.Created)
				assert.Equal(t, 1, run.Counts.Skipped, "the ignored user")
				assert.Empty(t, e.conflicts())
				assert.Equal(t, target, e.links()["u1"].ContactID)

				// Refusals: a contact of another company, a contact linked to another user.
				var v adsync.Values
				v[adsync.FirstName], v[adsync.LastName] = "X", "Y"
				foreign := e.store.Seed(adsync.Contact{CompanyID: otherCompany, Active: true, Values: v})
				err := e.syncer.Resolve(e.ctx, cfg, adsync.Resolution{UserID: "u3", Action: adsync.ResolveLink, ContactID: foreign})
				require.ErrorIs(t, err, adsync.ErrRefused)
				assert.Contains(t, err.Error(), "belongs to company 200")
				err = e.syncer.Resolve(e.ctx, cfg, adsync.Resolution{UserID: "u3", Action: adsync.ResolveLink, ContactID: target})
				require.ErrorIs(t, err, adsync.ErrRefused)
				assert.Contains(t, err.Error(), "linked to user u1")
				err = e.syncer.Resolve(e.ctx, cfg, adsync.Resolution{UserID: "u3", Action: adsync.ResolveLink, ContactID: 999999})
				require.ErrorIs(t, err, adsync.ErrNotFound)

				// Undo: the link made by the resolution goes; matching resumes.
				require.NoError(t, e.syncer.Unresolve(e.ctx, cfg.ID, "u1"))
				require.ErrorIs(t, e.syncer.Unresolve(e.ctx, cfg.ID, "u1"), adsync.ErrNotFound)
				run = e.mustSync()
				assert.Equal(t, 1, run.Counts.Conflicts, "u1 is back in R-CONF-3")
			},
		},
	})
}

func TestFieldRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name: "R-FIELD-1 a blank directory value never overwrites Autotask",
			setup: func(e *env) {
				e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, "CFO"))
				e.mustSync()
				e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, "   "))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Unchanged)
				assert.Equal(t, "CFO", e.contacts()[0].Values[adsync.Title])
			},
		},
		{
			name: "R-FIELD-2 only selected fields are written; names and email always",
			opts: []envOption{withConfig(func(c *adsync.OrgConfig) {
				c.Fields = []adsync.FieldSpec{{Field: adsync.City}}
			})},
			setup: func(e *env) {
				u := with(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, "CFO"), adsync.City, "Oslo")
				e.src.Put(u)
			},
			check: func(t *testing.T, e *env) {
				e.mustSync()
				c := e.contacts()[0]
				assert.Equal(t, "Oslo", c.Values[adsync.City])
				assert.Equal(t, "a@x.example", c.Values[adsync.Email])
				assert.Empty(t, c.Values[adsync.Title], "title is not selected")
			},
		},
		{
			name: "R-FIELD-3 only differing fields are sent; an equal contact is not written",
			setup: func(e *env) {
				e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.City, "Oslo"))
				e.mustSync()
				e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.City, "Bergen"))
			},
			check: func(t *testing.T, e *env) {
				n := len(e.store.Calls())
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Updated)
				var updates []contacts.Call
				for _, c := range e.store.Calls()[n:] {
					if c.Method == contacts.MethodUpdate {
						updates = append(updates, c)
					}
				}
				require.Len(t, updates, 1)
				assert.Equal(t, adsync.NewFieldSet(adsync.City), updates[0].Fields, "only the city is sent")
				w := e.writes()
				e.mustSync()
				assert.Equal(t, w, e.writes(), "R-RUN-8 nothing changed: nothing written")
			},
		},
		{
			name: "R-FIELD-4 an over-long value is cut with a warning and the rest written",
			setup: func(e *env) {
				e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, strings.Repeat("é", 60)))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created)
				assert.Equal(t, strings.Repeat("é", 50), e.contacts()[0].Values[adsync.Title])
				assert.True(t, hasWarning(run, "R-FIELD-4"), "warnings: %v", run.Warnings)
			},
		},
		{
			name: "R-FIELD-5 a user without a last name is skipped, not created",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "", "a@x.example"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Skipped)
				require.Len(t, run.Skips, 1)
				assert.Equal(t, "R-FIELD-5", run.Skips[0].Rule)
				assert.Zero(t, e.writes())
			},
		},
		{
			name: "R-FIELD-5 a user without a last name may still be linked by email and updated",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "a@x.example", true)
				e.src.Put(with(user("u1", "Ann", "", "a@x.example"), adsync.City, "Oslo"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Linked)
				c := e.contacts()[0]
				assert.Equal(t, "Oslo", c.Values[adsync.City])
				assert.Equal(t, "Lee", c.Values[adsync.LastName])
			},
		},
		{
			name: "R-FIELD-6 a country code is written as the countryID; an unknown one warns",
			setup: func(e *env) {
				e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.CountryID, "US"))
				e.src.Put(with(user("u2", "Bob", "Ray", "b@x.example"), adsync.CountryID, "Atlantis"))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 2, run.Counts.Created)
				l := e.links()
				assert.Equal(t, "237", e.contact(l["u1"].ContactID).Values[adsync.CountryID])
				assert.Empty(t, e.contact(l["u2"].ContactID).Values[adsync.CountryID])
				assert.True(t, hasWarning(run, "R-FIELD-6"))
			},
		},
		{
			name: "R-FIELD-7 the billing product goes to created contacts only",
			opts: []envOption{withConfig(func(c *adsync.OrgConfig) { c.BillingProductID = 77 })},
			setup: func(e *env) {
				e.seed("Ann", "Lee", "a@x.example", true)
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"))
			},
			check: func(t *testing.T, e *env) {
				e.mustSync()
				l := e.links()
				assert.Empty(t, e.store.BillingProducts(l["u1"].ContactID), "matched: no product")
				assert.Equal(t, []int64{77}, e.store.BillingProducts(l["u2"].ContactID))
			},
		},
	})
}

func hasWarning(run adsync.Run, rule string) bool {
	for _, w := range run.Warnings {
		if w.Rule == rule {
			return true
		}
	}
	return false
}

func TestDeactivationRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name: "R-DEACT-1 a user who leaves scope has the contact deactivated, never deleted",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"))
				e.mustSync()
				e.src.Remove("u1")
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Deactivated)
				assert.Len(t, e.contacts(), 2, "nothing deleted")
				assert.False(t, e.contact(e.links()["u1"].ContactID).Active)
				assert.True(t, e.contact(e.links()["u2"].ContactID).Active)
				run = e.mustSync()
				assert.Zero(t, run.Counts.Deactivated, "deactivated once")
			},
		},
		{
			name: "R-DEACT-2 contacts the sync did not link are never deactivated",
			setup: func(e *env) {
				e.seed("Old", "Timer", "old@x.example", true)
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
			},
			check: func(t *testing.T, e *env) {
				e.mustSync()
				for _, c := range e.contacts() {
					assert.True(t, c.Active, "contact %d", c.ID)
				}
			},
		},
		{
			name: "R-DEACT-3 a failed directory read changes nothing",
			setup: func(e *env) {
				for i := range 600 {
					e.src.Put(user(fmt.Sprintf("u%03d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
				}
				e.mustSync()
				e.src.FailReadAfter(1, adsync.ErrUnavailable)
			},
			check: func(t *testing.T, e *env) {
				w := e.writes()
				run, err := e.sync()
				require.ErrorIs(t, err, adsync.ErrIncompleteRead)
				assert.Equal(t, adsync.StatusFailed, run.Status)
				assert.Equal(t, w, e.writes(), "no write after a partial read")
				for _, c := range e.contacts() {
					assert.True(t, c.Active)
				}
			},
		},
		{
			name: "R-DEACT-4 the guard holds mass deactivations until approved",
			setup: func(e *env) {
				for i := range 30 {
					e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
				}
				e.mustSync()
				for i := range 12 { // 12 > max(10, 20% of 30 = 6)
					e.src.Remove(fmt.Sprintf("u%02d", i))
				}
				e.src.Put(with(user("u29", "A", "B29", "u29@x.example"), adsync.City, "Rome"))
			},
			check: func(t *testing.T, e *env) {
				run, err := e.sync()
				require.NoError(t, err)
				assert.Equal(t, adsync.StatusHeld, run.Status)
				assert.Equal(t, 12, run.Counts.Held)
				assert.Len(t, run.Held, 12)
				assert.Equal(t, 1, run.Counts.Updated, "the rest of the run is applied")
				assert.Zero(t, run.Counts.Deactivated)
				for _, c := range e.contacts() {
					assert.True(t, c.Active)
				}
				// A user comes back before the approval: not deactivated.
				e.src.Put(user("u00", "A", "B0", "u0@x.example"))
				ap, err := e.syncer.Approve(e.ctx, e.org, run.ID)
				require.NoError(t, err)
				assert.Equal(t, adsync.TriggerApproval, ap.Trigger)
				assert.Equal(t, adsync.StatusSucceeded, ap.Status)
				assert.Equal(t, 11, ap.Counts.Deactivated)
				_, err = e.syncer.Approve(e.ctx, e.org, ap.ID)
				assert.ErrorIs(t, err, adsync.ErrNothingHeld)
			},
		},
		{
			name: "R-DEACT-4 zero users read while active links exist is held",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
				e.mustSync()
				e.src.Remove("u1")
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, adsync.StatusHeld, run.Status)
				assert.Equal(t, 1, run.Counts.Held)
				assert.True(t, e.contacts()[0].Active)
			},
		},
		{
			name: "R-DEACT-4 the guard can be raised or turned off",
			opts: []envOption{withConfig(func(c *adsync.OrgConfig) { c.Guard.Off = true })},
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
				e.mustSync()
				e.src.Remove("u1")
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, adsync.StatusSucceeded, run.Status)
				assert.Equal(t, 1, run.Counts.Deactivated)
			},
		},
	})
}

func TestRunRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name: "R-RUN-3 the history keeps the last 10 runs",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
				for range 12 {
					e.mustSync()
				}
			},
			check: func(t *testing.T, e *env) {
				runs, err := e.hist.Runs(e.ctx, "contoso", 0)
				require.NoError(t, err)
				assert.Len(t, runs, 10)
			},
		},
		{
			name: "R-RUN-4 a run records trigger, times, status, counts, warnings, API calls and TLS",
			setup: func(e *env) {
				e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, strings.Repeat("x", 80)))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				got, err := e.hist.Run(e.ctx, "contoso", run.ID)
				require.NoError(t, err)
				assert.Equal(t, adsync.TriggerForced, got.Trigger)
				assert.Equal(t, adsync.StatusSucceeded, got.Status)
				assert.False(t, got.Started.IsZero())
				assert.False(t, got.Ended.Before(got.Started))
				assert.Equal(t, 1, got.Counts.Read)
				assert.Equal(t, 1, got.Counts.Created)
				assert.NotEmpty(t, got.Warnings)
				assert.Positive(t, got.APICalls)
				assert.Equal(t, adsync.TLSNotApplicable, got.TLS)
				assert.True(t, got.FullRead)
			},
		},
		{
			name: "R-RUN-5 one run per organization at a time",
			opts: []envOption{withStore(func(m *contacts.Memory) adsync.ContactStore { return &blockingStore{Memory: m} })},
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
			},
			check: func(t *testing.T, e *env) {
				bs := e.storeIf.(*blockingStore)
				bs.block()
				done := make(chan error, 1)
				go func() { _, err := e.syncer.Sync(e.ctx, e.org, adsync.TriggerScheduled); done <- err }()
				bs.waitBlocked()
				assert.True(t, e.syncer.Running("contoso"))
				_, err := e.syncer.Sync(e.ctx, e.org, adsync.TriggerForced)
				assert.ErrorIs(t, err, adsync.ErrRunInProgress)
				bs.release()
				require.NoError(t, <-done)
				assert.False(t, e.syncer.Running("contoso"))
			},
		},
		{
			name: "R-RUN-6 a write that fails for one contact is recorded and retried next run",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"))
				e.store.FailWhere(func(c contacts.Call) error {
					if c.Method == contacts.MethodCreate && c.Values[adsync.FirstName] == "Bob" {
						return fmt.Errorf("emailAddress is invalid: %w", adsync.ErrValidation)
					}
					return nil
				})
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, adsync.StatusSucceeded, run.Status)
				assert.Equal(t, 1, run.Counts.Created)
				assert.Equal(t, 1, run.Counts.FailedWrites)
				require.Len(t, run.Failures, 1)
				assert.Equal(t, "u2", run.Failures[0].UserID)
				assert.Contains(t, run.Failures[0].Error, "Bob Ray")
				assert.Contains(t, run.Failures[0].Error, "emailAddress is invalid")
				e.store.ClearFaults()
				run = e.mustSync()
				assert.Equal(t, 1, run.Counts.Created, "retried")
				assert.Len(t, e.contacts(), 2)
			},
		},
		{
			name: "R-RUN-6 a systemic failure stops the run",
			setup: func(e *env) {
				for i := range 20 {
					e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
				}
				e.store.FailWhere(func(c contacts.Call) error {
					if c.Method == contacts.MethodCreate {
						return fmt.Errorf("API user locked: %w", adsync.ErrUnauthorized)
					}
					return nil
				})
			},
			check: func(t *testing.T, e *env) {
				run, err := e.sync()
				require.ErrorIs(t, err, adsync.ErrUnauthorized)
				assert.Equal(t, adsync.StatusFailed, run.Status)
				assert.Contains(t, run.Error, "API user locked")
				assert.LessOrEqual(t, int(e.store.Counts().Creates), adsync.DefaultWriteConcurrency, "no new writes once it failed")
			},
		},
		{
			name: "R-RUN-8 a second run with no change writes nothing",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "a@x.example", false)
				e.seed("Bob", "Ray", "", true)
				e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.CountryID, "DE"),
					user("u2", "Bob", "Ray", "b@x.example"), with(user("u3", "Cy", "Oh", "c@x.example"), adsync.Title, strings.Repeat("t", 70)))
				e.mustSync()
			},
			check: func(t *testing.T, e *env) {
				w := e.writes()
				run := e.mustSync()
				assert.Equal(t, w, e.writes())
				assert.Zero(t, run.Counts.Writes())
				assert.Equal(t, 3, run.Counts.Unchanged)
			},
		},
	})
}

// blockingStore blocks Check until released, to hold a run open.
type blockingStore struct {
	*contacts.Memory
	gate    chan struct{}
	entered chan struct{}
	blocked atomic.Bool
}

func (b *blockingStore) block() {
	b.gate, b.entered = make(chan struct{}), make(chan struct{}, 1)
	b.blocked.Store(true)
}
func (b *blockingStore) waitBlocked() { <-b.entered }
func (b *blockingStore) release()     { b.blocked.Store(false); close(b.gate) }

func (b *blockingStore) Check(ctx context.Context, id int64) error {
	if b.blocked.Load() {
		b.entered <- struct{}{}
		<-b.gate
	}
	return b.Memory.Check(ctx, id)
}

func TestPlanIsADryRun(t *testing.T) {
	e := newEnv(t)
	e.seed("Ann", "Lee", "a@x.example", false)
	e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, "CFO"), user("u2", "Bob", "Ray", "b@x.example"))
	p, err := e.syncer.Plan(e.ctx, e.org)
	require.NoError(t, err)
	assert.Zero(t, e.writes(), "no write to Autotask")
	runs, _ := e.hist.Runs(e.ctx, "contoso", 0)
	assert.Empty(t, runs, "no run recorded")
	assert.Empty(t, e.links(), "no link saved")

	assert.Equal(t, 1, p.Counts.Created)
	assert.Equal(t, 1, p.Counts.Reactivated, "a link to an inactive contact is a reactivation (R-MATCH-2)")
	text := p.String()
	for _, want := range []string{
		"contoso: 2 users read; 1 to create, 0 to link, 0 to update, 1 to reactivate",
		"^ reactivate Ann Lee <a@x.example> (u1) → Ann Lee <a@x.example> (contact 1) [R-MATCH-2]",
		"isActive: 0 → 1",
		`title: "" → "CFO"`,
		"+ create Bob Ray <b@x.example> (u2) → new contact [R-MATCH-5]",
		`lastName: "Ray"`,
	} {
		assert.Contains(t, text, want)
	}

	run, err := e.syncer.Apply(e.ctx, e.org, p)
	require.NoError(t, err)
	assert.Equal(t, 1, run.Counts.Created)
	assert.Equal(t, 1, run.Counts.Reactivated)
	assert.Len(t, e.links(), 2)
}

func TestBadInputWritesNothing(t *testing.T) {
	cases := []struct {
		name  string
		cfg   func(*adsync.OrgConfig)
		field string
	}{
		{"missing company", func(c *adsync.OrgConfig) { c.CompanyID = 0 }, "companyId"},
		{"bad id", func(c *adsync.OrgConfig) { c.ID = "a b" }, "id"},
		{"malformed field override", func(c *adsync.OrgConfig) {
			c.Fields = []adsync.FieldSpec{{Field: adsync.Title, Source: "job title!"}}
		}, "fields[0].source"},
		{"field selected twice", func(c *adsync.OrgConfig) {
			c.Fields = []adsync.FieldSpec{{Field: adsync.Title}, {Field: adsync.Title}}
		}, "fields[1].field"},
		{"guard percent", func(c *adsync.OrgConfig) { c.Guard.Percent = 120 }, "guard.percent"},
		{"user cap", func(c *adsync.OrgConfig) { c.MaxUsers = 400_001 }, "maxUsers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withConfig(tc.cfg))
			e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
			_, err := e.sync()
			require.ErrorIs(t, err, adsync.ErrInvalidConfig)
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.Zero(t, e.store.Counts().Calls, "nothing read or written")
			runs, _ := e.hist.Runs(e.ctx, "contoso", 0)
			assert.Empty(t, runs)
		})
	}
	t.Run("R-SCOPE-2 two configurations for one company", func(t *testing.T) {
		err := adsync.ValidateOrgs([]adsync.OrgConfig{{ID: "a", CompanyID: 1}, {ID: "b", CompanyID: 1}})
		var ce *adsync.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "orgs[1].companyId", ce.Field)
		assert.Contains(t, ce.Problem, "one configuration per company")
	})
	t.Run("R-RUN-2 a disabled organization is never run", func(t *testing.T) {
		e := newEnv(t, withConfig(func(c *adsync.OrgConfig) { c.Enabled = false }))
		_, err := e.sync()
		require.ErrorIs(t, err, adsync.ErrOrgDisabled)
		assert.Zero(t, e.store.Counts().Calls)
	})
	t.Run("unknown company", func(t *testing.T) {
		e := newEnv(t, withConfig(func(c *adsync.OrgConfig) { c.CompanyID = 4242 }))
		_, err := e.sync()
		require.ErrorIs(t, err, adsync.ErrNotFound)
		assert.Zero(t, e.writes())
	})
	t.Run("unreachable directory", func(t *testing.T) {
		e := newEnv(t)
		e.src.FailCheck(fmt.Errorf("dial tcp 127.0.0.1:636: connection refused: %w", adsync.ErrUnavailable))
		run, err := e.sync()
		require.ErrorIs(t, err, adsync.ErrUnavailable)
		assert.Contains(t, run.Error, "check the directory")
		assert.Zero(t, e.writes())
	})
}
