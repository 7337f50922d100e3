package adsync_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// The safety features' state is kept in the history: their scenarios run
// on every store in history/historytest (memory, SQLite, PostgreSQL, the
// custom example). These tests check the plan's side.

func TestGuardWindow(t *testing.T) {
	week := 7 * 24 * time.Hour
	runRuleCases(t, []ruleCase{
		{
			name: "R-DEACT-6 the plan shows the window's sum and holds past it",
			opts: []envOption{withConfig(func(c *adsync.OrgConfig) { c.Guard.Window = week })},
			setup: func(e *env) {
				for i := range 50 {
					e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
				}
				e.mustSync()
				for i := range 10 { // the per-run limit: max(10, 20 % of 50)
					e.src.Remove(fmt.Sprintf("u%02d", i))
				}
				e.clock.Advance(24 * time.Hour)
				assert.Equal(e.t, 10, e.mustSync().Counts.Deactivated, "within the limit")
				for i := 10; i < 15; i++ {
					e.src.Remove(fmt.Sprintf("u%02d", i))
				}
				e.clock.Advance(24 * time.Hour)
			},
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				require.NotNil(t, p.Window)
				assert.Equal(t, adsync.GuardWindow{Window: week, Deactivated: 10, ThisRun: 5, Limit: 10, Held: true}, *p.Window)
				require.Len(t, p.Held, 5)
				assert.Equal(t, "R-DEACT-6", p.Held[0].Rule)
				assert.Contains(t, p.String(), "guard window 168h0m0s [R-DEACT-6]: 10 deactivated by the runs of the window and 5 by this run, limit 10: held")
				// A week after the first deactivations, they leave the window.
				e.clock.Advance(week)
				run := e.mustSync()
				assert.Equal(t, 5, run.Counts.Deactivated)
			},
		},
		{
			name: "R-DEACT-6 without a window each run is guarded alone",
			setup: func(e *env) {
				for i := range 50 {
					e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
				}
				e.mustSync()
				for i := range 10 {
					e.src.Remove(fmt.Sprintf("u%02d", i))
				}
				e.mustSync()
				for i := 10; i < 15; i++ {
					e.src.Remove(fmt.Sprintf("u%02d", i))
				}
			},
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				assert.Nil(t, p.Window)
				assert.Empty(t, p.Held)
				assert.NotContains(t, p.String(), "guard window")
			},
		},
	})
}

func TestGracePeriod(t *testing.T) {
	grace := withConfig(func(c *adsync.OrgConfig) { c.DeactivateAfter = 72 * time.Hour })
	three := func(e *env) {
		for i := range 3 {
			e.src.Put(user(fmt.Sprint("u", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
		}
		e.mustSync()
	}
	runRuleCases(t, []ruleCase{
		{
			name: "R-DEACT-7 the plan lists a pending deactivation with its due time",
			opts: []envOption{grace},
			setup: func(e *env) {
				three(e)
				e.src.Remove("u0")
				e.mustSync()
			},
			check: func(t *testing.T, e *env) {
				first := e.links()["u0"].MissingSince
				require.False(t, first.IsZero())
				e.clock.Advance(time.Hour)
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				require.Len(t, p.Pending, 1)
				assert.Equal(t, "u0", p.Pending[0].UserID)
				assert.True(t, first.Add(72*time.Hour).Equal(p.Pending[0].Due))
				assert.Zero(t, p.Counts.Deactivated)
				assert.Contains(t, p.String(), "… pending deactivate user u0 → ")
				assert.Contains(t, p.String(), "[R-DEACT-7]: out of scope since "+first.UTC().Format(time.RFC3339)+", due "+
					first.Add(72*time.Hour).UTC().Format(time.RFC3339))
			},
		},
		{
			name: "R-DEACT-7 the guard counts the deactivations that fall due",
			opts: []envOption{grace},
			setup: func(e *env) {
				for i := range 20 {
					e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
				}
				e.mustSync()
				for i := range 11 { // 11 > max(10, 20 % of 20)
					e.src.Remove(fmt.Sprintf("u%02d", i))
				}
				assert.Zero(e.t, e.mustSync().Counts.Held, "pending, not counted yet")
				e.clock.Advance(72 * time.Hour)
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, adsync.StatusHeld, run.Status)
				assert.Equal(t, 11, run.Counts.Held)
			},
		},
		{
			name: "R-DEACT-8 a disabled user waits out the grace period by default",
			// The source delivers disabled users, the organization keeps
			// them out of scope (R-SCOPE-8).
			opts: []envOption{grace},
			setup: func(e *env) {
				three(e)
				u := user("u0", "A", "B0", "u0@x.example")
				u.Enabled = false
				e.src.Put(u)
			},
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				require.Len(t, p.Pending, 1)
				assert.True(t, p.Pending[0].Disabled)
				assert.Contains(t, p.String(), "[R-DEACT-7]: disabled since")
			},
		},
		{
			name: "R-DEACT-8 a disabled user is deactivated at once when the organization says so",
			opts: []envOption{withConfig(func(c *adsync.OrgConfig) { c.DeactivateAfter, c.DisabledAtOnce = 72*time.Hour, true })},
			setup: func(e *env) {
				three(e)
				u := user("u0", "A", "B0", "u0@x.example")
				u.Enabled = false
				e.src.Put(u)
				e.src.Remove("u1")
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Deactivated, "the disabled user at once, the missing one waits")
				assert.False(t, e.contact(e.links()["u0"].ContactID).Active)
				assert.True(t, e.contact(e.links()["u1"].ContactID).Active)
			},
		},
		{
			name: "R-DEACT-7 without a grace period a user out of scope is deactivated at once",
			setup: func(e *env) {
				three(e)
				e.src.Remove("u0")
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Deactivated)
				assert.True(t, e.links()["u0"].MissingSince.IsZero(), "no missing time is kept")
			},
		},
	})
}

func TestExemptions(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name: "R-DEACT-9 an exempt contact is listed in the plan and never deactivated",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"))
				e.mustSync()
				require.NoError(e.t, e.syncer.Exempt(e.ctx, e.org.Config, adsync.Exemption{ContactID: e.links()["u1"].ContactID, Reason: "assistant"}))
				e.src.Remove("u1")
			},
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				id := e.links()["u1"].ContactID
				c := e.contact(id)
				require.Equal(t, []adsync.Exempted{{UserID: "u1", ContactID: id, Contact: c.Label(), Source: "history", Reason: "assistant"}}, p.Exempt)
				assert.Contains(t, p.String(), fmt.Sprintf("= exempt user u1 → Ann Lee <a@x.example> (contact %d) [R-DEACT-9]: out of scope, not deactivated: exempt in the history (assistant)", id))
				run := e.mustSync()
				assert.Zero(t, run.Counts.Deactivated)
				assert.True(t, e.contact(id).Active)
				xs, err := e.syncer.Exemptions(e.ctx, "contoso")
				require.NoError(t, err)
				require.Len(t, xs, 1)
				assert.Equal(t, id, xs[0].ContactID)
			},
		},
		{
			name: "R-DEACT-9 a contact a store reads as exempt is never deactivated",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"))
				e.mustSync()
				e.store.Edit(e.links()["u1"].ContactID, func(c *adsync.Contact) { c.Exempt = true })
				e.src.Remove("u1")
			},
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				require.Len(t, p.Exempt, 1)
				assert.Equal(t, "field", p.Exempt[0].Source)
				assert.Contains(t, p.String(), "exempt by its Autotask field")
				assert.Zero(t, e.mustSync().Counts.Deactivated)
			},
		},
		{
			name: "R-DEACT-9 exempting a contact needs its id",
			check: func(t *testing.T, e *env) {
				var ce *adsync.ConfigError
				require.ErrorAs(t, e.syncer.Exempt(e.ctx, e.org.Config, adsync.Exemption{}), &ce)
				assert.Equal(t, "exemption.contactId", ce.Field)
				assert.ErrorIs(t, e.syncer.Unexempt(e.ctx, "contoso", 5), adsync.ErrNotFound)
			},
		},
	})
}

func TestRecreatedAccount(t *testing.T) {
	// u1 is deleted and re-created as u1b: same person, new directory id.
	recreate := func(e *env) {
		e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
		e.mustSync()
		e.src.Remove("u1")
		e.src.Put(user("u1b", "Ann", "Lee", "ann@x.example"))
	}
	runRuleCases(t, []ruleCase{
		{
			name:  "R-CONF-6 R-CONF-7 a map resolution takes over the contact of a user out of scope, as the conflict suggests",
			setup: recreate,
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Deactivated, "the old account left")
				id := e.links()["u1"].ContactID
				cs := e.conflicts()
				require.Len(t, cs, 1)
				assert.Equal(t, adsync.ConflictContactLinked, cs[0].Kind, "R-CONF-4")
				assert.Contains(t, cs[0].Detail, fmt.Sprintf("user u1 is out of scope and the names and email agree, most likely a re-created account: map this user to contact %d to take the contact over (R-CONF-6): adsync conflicts resolve --org contoso --user u1b --link %d", id, id))

				require.NoError(t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u1b", Action: adsync.ResolveLink, ContactID: id}))
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				assert.Contains(t, p.String(), "the contact is taken over and the link of user u1 is dropped")
				run = e.mustSync()
				assert.Zero(t, run.Counts.Created, "the contact is kept")
				// The old contact is inactive: a new link to it counts as a
				// reactivation (R-MATCH-2's vocabulary).
				assert.Equal(t, 1, run.Counts.Reactivated)
				links := e.links()
				assert.NotContains(t, links, "u1", "the old link is dropped")
				assert.Equal(t, id, links["u1b"].ContactID)
				assert.True(t, e.contact(id).Active, "reactivated for the new account")
				var recorded bool
				for _, w := range run.Warnings {
					recorded = recorded || (w.Rule == "R-CONF-6" && w.UserID == "u1b")
				}
				assert.True(t, recorded, "the take-over is recorded on the run")
				assert.Empty(t, e.conflicts())
				assert.Len(t, e.contacts(), 2)
			},
		},
		{
			name:  "R-CONF-6 no take-over once the old user is back in scope",
			setup: recreate,
			check: func(t *testing.T, e *env) {
				e.mustSync()
				id := e.links()["u1"].ContactID
				require.NoError(t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u1b", Action: adsync.ResolveLink, ContactID: id}))
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
				run := e.mustSync()
				assert.Zero(t, run.Counts.Linked)
				assert.Equal(t, id, e.links()["u1"].ContactID, "the old link stays")
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				assert.Contains(t, p.String(), "which is now linked to user u1, in scope: resolve again")
			},
		},
		{
			name: "R-CONF-6 a resolution to the contact of a user in scope is refused",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
				e.mustSync()
			},
			check: func(t *testing.T, e *env) {
				err := e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u2", Action: adsync.ResolveLink, ContactID: e.links()["u1"].ContactID})
				assert.ErrorIs(t, err, adsync.ErrRefused)
			},
		},
		{
			name: "R-CONF-7 no take-over is suggested when the names differ",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
				e.mustSync()
				e.src.Remove("u1")
				e.src.Put(user("u9", "Anna", "Leigh", "ann@x.example"))
			},
			check: func(t *testing.T, e *env) {
				e.mustSync()
				cs := e.conflicts()
				require.Len(t, cs, 1)
				assert.NotContains(t, cs[0].Detail, "re-created")
			},
		},
	})
}

func TestAutotaskEdits(t *testing.T) {
	mode := func(m adsync.AutotaskEdits) envOption {
		return withConfig(func(c *adsync.OrgConfig) { c.AutotaskEdits = m })
	}
	// A technician corrects the title the sync wrote.
	edited := func(e *env) {
		e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, "Engineer"))
		e.mustSync()
		e.store.Edit(e.links()["u1"].ContactID, func(c *adsync.Contact) { c.Values[adsync.Title] = "Senior Engineer" })
	}
	title := func(e *env) string { return e.contact(e.links()["u1"].ContactID).Values[adsync.Title] }
	runRuleCases(t, []ruleCase{
		{
			name:  "R-FIELD-9 keep: a field edited in Autotask is not overwritten and the plan lists it",
			opts:  []envOption{mode(adsync.EditsKeep)},
			setup: edited,
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				id := e.links()["u1"].ContactID
				c := e.contact(id)
				require.Equal(t, []adsync.KeptEdit{{UserID: "u1", ContactID: id, Contact: c.Label(), Field: "title",
					Autotask: "Senior Engineer", Written: "Engineer", Directory: "Engineer", Kept: true}}, p.Kept)
				assert.Contains(t, p.String(), `= kept Autotask edit of user u1 → `+c.Label()+` [R-FIELD-9]: title "Senior Engineer" (the sync wrote "Engineer"; the directory says "Engineer")`)
				writes := e.writes()
				run := e.mustSync()
				assert.Zero(t, run.Counts.Updated)
				assert.Equal(t, writes, e.writes(), "nothing written")
				assert.Equal(t, "Senior Engineer", title(e))

				// The directory changes too, and another field: the edit
				// still wins, the other field is written.
				e.src.Put(with(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, "Lead"), adsync.City, "Rome"))
				run = e.mustSync()
				assert.Equal(t, 1, run.Counts.Updated)
				assert.Equal(t, "Senior Engineer", title(e))
				assert.Equal(t, "Rome", e.contact(id).Values[adsync.City])
				assert.Equal(t, "Engineer", e.links()["u1"].Written[adsync.Title], "the last value the sync wrote is kept with the new one")
				assert.Equal(t, "Rome", e.links()["u1"].Written[adsync.City])
			},
		},
		{
			name:  "R-FIELD-10 report: the edit is overwritten and listed",
			opts:  []envOption{mode(adsync.EditsReport)},
			setup: edited,
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				require.Len(t, p.Kept, 1)
				assert.False(t, p.Kept[0].Kept)
				assert.Contains(t, p.String(), `[R-FIELD-10]: title "Senior Engineer" (the sync wrote "Engineer") becomes the directory's "Engineer"`)
				assert.Equal(t, 1, e.mustSync().Counts.Updated)
				assert.Equal(t, "Engineer", title(e))
			},
		},
		{
			name:  "R-FIELD-9 overwrite, the default, writes the directory's value as Autotask does",
			setup: edited,
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				assert.Empty(t, p.Kept)
				assert.Equal(t, 1, e.mustSync().Counts.Updated)
				assert.Equal(t, "Engineer", title(e))
			},
		},
		{
			name: "R-DEACT-1 keep: a contact a technician made active again stays active",
			opts: []envOption{mode(adsync.EditsKeep)},
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"))
				e.mustSync()
				e.src.Remove("u1")
				require.Equal(e.t, 1, e.mustSync().Counts.Deactivated)
				e.store.Edit(e.links()["u1"].ContactID, func(c *adsync.Contact) { c.Active = true })
			},
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				require.Len(t, p.Kept, 1)
				assert.Equal(t, "isActive", p.Kept[0].Field)
				assert.Zero(t, e.mustSync().Counts.Deactivated)
				assert.True(t, e.contact(e.links()["u1"].ContactID).Active)
			},
		},
		{
			name: "R-DEACT-1 by default a contact a technician made active again is deactivated again",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"))
				e.mustSync()
				e.src.Remove("u1")
				e.mustSync()
				e.store.Edit(e.links()["u1"].ContactID, func(c *adsync.Contact) { c.Active = true })
			},
			check: func(t *testing.T, e *env) {
				assert.Equal(t, 1, e.mustSync().Counts.Deactivated)
				assert.False(t, e.contact(e.links()["u1"].ContactID).Active)
			},
		},
	})
}

func TestSafetyConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(*adsync.OrgConfig)
		field string
	}{
		{"R-DEACT-6 a negative window", func(c *adsync.OrgConfig) { c.Guard.Window = -time.Hour }, "guard.window"},
		{"R-DEACT-7 a negative grace period", func(c *adsync.OrgConfig) { c.DeactivateAfter = -time.Hour }, "deactivateAfter"},
		{"R-FIELD-9 an unknown autotaskEdits mode", func(c *adsync.OrgConfig) { c.AutotaskEdits = "merge" }, "autotaskEdits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := adsync.OrgConfig{ID: "x", CompanyID: 1}
			tc.set(&c)
			var ce *adsync.ConfigError
			require.ErrorAs(t, c.Validate(), &ce)
			assert.Equal(t, tc.field, ce.Field)
		})
	}
}
