package adsync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
)

// Edge cases of the rules found in review: combinations the main rule tests
// do not reach (stale plans, approvals and failures on incremental reads,
// resolutions of linked users).

func incremental(c *adsync.OrgConfig) { c.FullReadEvery = 7 * 24 * time.Hour }

func TestReviewEdgeCases(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{
			name: "R-RUN-7 a plan applied after another run wrote is refused: no duplicate contact",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
			},
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				require.Equal(t, 1, p.Counts.Created)
				e.mustSync() // creates the contact and links it
				_, err = e.syncer.Apply(e.ctx, e.org, p)
				require.ErrorIs(t, err, adsync.ErrStalePlan)
				assert.Contains(t, err.Error(), "plan again")
				assert.Len(t, e.contacts(), 1, "no duplicate contact")
			},
		},
		{
			name: "R-RUN-7 a plan is applied once: applying it again is refused",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
			},
			check: func(t *testing.T, e *env) {
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				run, err := e.syncer.Apply(e.ctx, e.org, p)
				require.NoError(t, err)
				require.Equal(t, 1, run.Counts.Created)
				_, err = e.syncer.Apply(e.ctx, e.org, p)
				require.ErrorIs(t, err, adsync.ErrStalePlan)
				assert.Len(t, e.contacts(), 1, "no duplicate contact")
				assert.Len(t, e.links(), 1)
			},
		},
		{
			name: "R-RUN-7 a plan made while a run was going on is refused once that run has finished",
			opts: []envOption{withStore(func(m *contacts.Memory) adsync.ContactStore { return &blockingStore{Memory: m} })},
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
			},
			check: func(t *testing.T, e *env) {
				bs := e.storeIf.(*blockingStore)
				bs.block()
				done := make(chan error, 1)
				go func() { _, err := e.syncer.Sync(e.ctx, e.org, adsync.TriggerForced); done <- err }()
				bs.waitBlocked() // the run has started and read nothing yet
				bs.blocked.Store(false)
				p, err := e.syncer.Plan(e.ctx, e.org)
				require.NoError(t, err)
				require.Equal(t, 1, p.Counts.Created)
				bs.release()
				require.NoError(t, <-done)
				_, err = e.syncer.Apply(e.ctx, e.org, p)
				require.ErrorIs(t, err, adsync.ErrStalePlan)
				assert.Len(t, e.contacts(), 1, "no duplicate contact")
			},
		},
		{
			name: "R-DEACT-4 approving a run held on an incremental read applies its deactivations",
			opts: []envOption{withConfig(incremental)},
			setup: func(e *env) {
				for i := range 12 {
					e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
				}
				require.True(e.t, e.mustSync().FullRead)
				for i := range 11 {
					require.NoError(e.t, e.src.SetEnabled(fmt.Sprintf("u%02d", i), false))
				}
			},
			check: func(t *testing.T, e *env) {
				held := e.mustSync()
				require.False(t, held.FullRead)
				require.Equal(t, adsync.StatusHeld, held.Status)
				require.Len(t, held.Held, 11)
				e.clock.Advance(time.Minute)
				run, err := e.syncer.Approve(e.ctx, e.org, held.ID)
				require.NoError(t, err)
				assert.Equal(t, adsync.StatusSucceeded, run.Status)
				assert.Equal(t, 11, run.Counts.Deactivated, "the approved deactivations are applied")
				for i := range 11 {
					assert.False(t, e.contact(e.links()[fmt.Sprintf("u%02d", i)].ContactID).Active)
				}
			},
		},
		{
			name: "R-RUN-6 a write that failed on an incremental read is retried by the next run",
			opts: []envOption{withConfig(incremental)},
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
				require.True(e.t, e.mustSync().FullRead)
				e.src.Put(with(user("u1", "Ann", "Lee", "ann@x.example"), adsync.City, "Oslo"))
				e.store.FailWhere(func(c contacts.Call) error {
					if c.Method == contacts.MethodUpdate {
						return fmt.Errorf("city refused: %w", adsync.ErrValidation)
					}
					return nil
				})
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				require.False(t, run.FullRead)
				require.Equal(t, 1, run.Counts.FailedWrites)
				e.store.ClearFaults()
				run = e.mustSync()
				assert.False(t, run.FullRead)
				assert.Equal(t, 1, run.Counts.Updated, "the failed update is retried")
				assert.Equal(t, "Oslo", e.contact(e.links()["u1"].ContactID).Values[adsync.City])
				run = e.mustSync()
				assert.Zero(t, run.Counts.Writes(), "R-RUN-8 then nothing more to write")
			},
		},
		{
			name: "R-CONF-6 a resolution is honoured by the next run, also when it reads incrementally",
			opts: []envOption{withConfig(incremental)},
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "shared@x.example"), user("u2", "Bob", "Ray", "shared@x.example"))
				run := e.mustSync()
				require.True(e.t, run.FullRead)
				require.Equal(e.t, 2, run.Counts.Conflicts)
				require.NoError(e.t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u1", Action: adsync.ResolveCreate}))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created, "the resolved user is created")
				assert.Contains(t, e.links(), "u1")
				cs := e.conflicts()
				require.Len(t, cs, 1, "the resolved user's conflict clears itself (R-CONF-5)")
				assert.Equal(t, "u2", cs[0].UserID)
				run = e.mustSync()
				assert.False(t, run.FullRead, "back to incremental reads once the resolution is applied")
			},
		},
		{
			name: "R-CONF-6 a link resolution moves a linked user to the contact the admin chose",
			setup: func(e *env) {
				e.seed("Ann", "Lee", "ann@x.example", true)
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
				require.Equal(e.t, 1, e.mustSync().Counts.Linked)
			},
			check: func(t *testing.T, e *env) {
				old := e.links()["u1"].ContactID
				target := e.seed("Ann", "Lee-Smith", "ann.smith@x.example", true)
				require.NoError(t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u1", Action: adsync.ResolveLink, ContactID: target}))
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Linked)
				assert.Equal(t, target, e.links()["u1"].ContactID, "the admin's contact wins over the existing link")
				c := e.contact(target)
				assert.Equal(t, "Lee", c.Values[adsync.LastName], "and is updated from the directory")
				assert.True(t, e.contact(old).Active, "the old contact is left alone (R-DEACT-2)")
				run = e.mustSync()
				assert.Zero(t, run.Counts.Writes(), "R-RUN-8")
				assert.Equal(t, 1, run.Counts.Unchanged)
			},
		},
		{
			name: "R-CONF-6 a link resolution to a contact linked to another user keeps the user's link",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
				e.mustSync()
			},
			check: func(t *testing.T, e *env) {
				ls := e.links()
				// Stored directly: Resolve itself refuses it.
				require.NoError(t, e.hist.PutResolution(e.ctx, adsync.Resolution{OrgID: e.org.Config.ID, UserID: "u1", Action: adsync.ResolveLink, ContactID: ls["u2"].ContactID}))
				e.src.Put(with(user("u1", "Ann", "Lee", "ann@x.example"), adsync.City, "Oslo"))
				run := e.mustSync()
				assert.Equal(t, ls["u1"].ContactID, e.links()["u1"].ContactID)
				assert.Equal(t, ls["u2"].ContactID, e.links()["u2"].ContactID)
				assert.True(t, hasWarning(run, "R-CONF-6"), "the resolution cannot be followed: said on the run")
				assert.Equal(t, 1, run.Counts.Updated, "the user's own contact is still updated")
			},
		},
		{
			name: "R-LINK-4 a linked contact moved to another company: the link is dropped with a warning and the user matched again",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
				e.mustSync()
				require.True(e.t, e.store.Edit(e.links()["u1"].ContactID, func(c *adsync.Contact) { c.CompanyID = otherCompany }))
			},
			check: func(t *testing.T, e *env) {
				old := e.links()["u1"].ContactID
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created)
				assert.NotEqual(t, old, e.links()["u1"].ContactID)
				assert.True(t, hasWarning(run, "R-LINK-4"), "the admin is told why the link changed")
				assert.Len(t, e.store.All(otherCompany), 1, "the moved contact is left alone (R-SCOPE-6)")
			},
		},
		{
			name: "R-CONF-5 a user an incremental read delivers disabled has its conflict cleared",
			opts: []envOption{withConfig(incremental)},
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "shared@x.example"), user("u2", "Bob", "Ray", "shared@x.example"), user("u3", "Cy", "Oh", "cy@x.example"))
				require.Equal(e.t, 2, e.mustSync().Counts.Conflicts)
				require.NoError(e.t, e.src.SetEnabled("u1", false))
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				require.False(t, run.FullRead)
				for _, c := range e.conflicts() {
					assert.NotEqual(t, "u1", c.UserID, "u1 is out of scope (R-SCOPE-8): no conflict stands for it")
				}
			},
		},
		{
			name: "R-RUN-4 a run stopped mid-apply by a systemic failure records what it did and why it stopped",
			opts: []envOption{withSyncerOptions(func(o *adsync.Options) { o.BatchSize = 1; o.WriteConcurrency = 1 })},
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"), user("u3", "Cy", "Oh", "cy@x.example"))
				n := 0
				e.store.FailWhere(func(c contacts.Call) error {
					if c.Method == contacts.MethodCreate {
						if n++; n == 2 {
							return fmt.Errorf("API user locked: %w", adsync.ErrUnauthorized)
						}
					}
					return nil
				})
			},
			check: func(t *testing.T, e *env) {
				run, err := e.sync()
				require.ErrorIs(t, err, adsync.ErrUnauthorized)
				assert.Contains(t, err.Error(), `"contoso"`, "the error names the organization")
				assert.Contains(t, err.Error(), "Bob Ray", "and the user whose write failed")
				assert.Equal(t, adsync.StatusFailed, run.Status)
				assert.Equal(t, run.Error, err.Error())
				assert.Equal(t, 3, run.Counts.Read)
				assert.Equal(t, 1, run.Counts.Created, "only the write that was made is counted")
				assert.Zero(t, run.Counts.FailedWrites, "a systemic failure is not a per-contact failure")
				rec, err := e.hist.Run(e.ctx, e.org.Config.ID, run.ID)
				require.NoError(t, err)
				assert.Equal(t, run.Counts, rec.Counts)
				e.store.ClearFaults()
				run = e.mustSync()
				assert.Equal(t, 2, run.Counts.Created)
				assert.Len(t, e.contacts(), 3, "R-RUN-7 no duplicate")
				assert.Len(t, e.links(), 3)
			},
		},
		{
			name: "R-FIELD-7 a billing product that could not be assigned to a new contact is assigned by the next run",
			opts: []envOption{withConfig(func(c *adsync.OrgConfig) { c.BillingProductID = 77 })},
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
				e.store.FailWhere(func(c contacts.Call) error {
					if c.Method == contacts.MethodAssignBillingProduct {
						return fmt.Errorf("product 77 is inactive: %w", adsync.ErrValidation)
					}
					return nil
				})
			},
			check: func(t *testing.T, e *env) {
				run := e.mustSync()
				assert.Equal(t, 1, run.Counts.Created, "the contact was created")
				assert.Equal(t, 1, run.Counts.FailedWrites, "R-RUN-6 the failed assignment is recorded")
				require.Len(t, run.Failures, 1)
				assert.Contains(t, run.Failures[0].Error, "billing product 77")
				e.store.ClearFaults()
				run = e.mustSync()
				assert.Zero(t, run.Counts.Created, "no second contact")
				require.Len(t, e.contacts(), 1)
				id := e.contacts()[0].ID
				assert.Equal(t, []int64{77}, e.store.BillingProducts(id), "assigned by the next run")
				assert.Equal(t, id, e.links()["u1"].ContactID)
				assert.False(t, e.links()["u1"].Pending)
			},
		},
		{
			name: "R-RUN-6 a systemic failure stops the writes not yet started; those made are counted and linked",
			opts: []envOption{withSyncerOptions(func(o *adsync.Options) { o.WriteConcurrency = 3 })},
			setup: func(e *env) {
				for i := range 40 {
					e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
				}
				e.mustSync()
				for i := range 40 {
					e.src.Put(with(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)), adsync.City, "Oslo"))
				}
				n := 0
				e.store.FailWhere(func(c contacts.Call) error {
					if c.Method == contacts.MethodUpdate {
						if n++; n == 5 {
							return fmt.Errorf("token revoked: %w", adsync.ErrUnauthorized)
						}
					}
					return nil
				})
			},
			check: func(t *testing.T, e *env) {
				before := e.store.Counts().Updates
				run, err := e.sync()
				require.ErrorIs(t, err, adsync.ErrUnauthorized)
				assert.NotErrorIs(t, err, context.Canceled, "the cause, not the cancellations it caused")
				assert.Equal(t, adsync.StatusFailed, run.Status)
				made := int(e.store.Counts().Updates - before)
				assert.Less(t, made, 40, "the writes not yet started are not sent")
				oslo := 0
				for _, c := range e.contacts() {
					if c.Values[adsync.City] == "Oslo" {
						oslo++
					}
				}
				assert.Equal(t, oslo, run.Counts.Updated, "every update made is counted, no other")
				e.store.ClearFaults()
				run = e.mustSync()
				assert.Equal(t, 40-oslo, run.Counts.Updated, "the next run writes the rest")
			},
		},
		{
			name: "an invalid configuration is refused with the organization and the field named",
			opts: []envOption{withConfig(func(c *adsync.OrgConfig) { c.Guard.Percent = 120 })},
			check: func(t *testing.T, e *env) {
				for _, f := range []func() error{
					func() error { _, err := e.sync(); return err },
					func() error { _, err := e.syncer.Plan(e.ctx, e.org); return err },
				} {
					err := f()
					require.ErrorIs(t, err, adsync.ErrInvalidConfig)
					var ce *adsync.ConfigError
					require.ErrorAs(t, err, &ce)
					assert.Equal(t, "guard.percent", ce.Field)
					assert.Contains(t, err.Error(), `organization "contoso"`)
				}
			},
		},
		{
			name: "R-CONF-5 a conflict keeps its first seen time across runs and gets a new last seen",
			setup: func(e *env) {
				e.src.Put(user("u1", "Ann", "Lee", "shared@x.example"), user("u2", "Bob", "Ray", "shared@x.example"))
				e.mustSync()
			},
			check: func(t *testing.T, e *env) {
				first := e.conflicts()
				require.Len(t, first, 2)
				e.mustSync()
				second := e.conflicts()
				require.Len(t, second, 2)
				for i := range second {
					assert.Equal(t, first[0].FirstSeen, second[i].FirstSeen)
					assert.True(t, second[i].LastSeen.After(first[0].LastSeen))
				}
			},
		},
	})
}

func TestSchedulerRealClock(t *testing.T) {
	t.Run("R-RUN-1 with the system clock each organization runs again an interval after its last start, parallelism bounded", func(t *testing.T) {
		se := newSchedEnv(t, 3, withSyncerOptions(func(o *adsync.Options) { o.Clock = nil }),
			withStore(func(m *contacts.Memory) adsync.ContactStore { return &countingStore{Memory: m} }))
		cs := se.storeIf.(*countingStore)
		const interval = 150 * time.Millisecond
		sc, err := adsync.NewScheduler(se.syncer, se.orgs, &adsync.SchedulerOptions{Interval: interval, Parallelism: 2,
			OnRun: func(r adsync.Run, _ error) { se.runs <- r }})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sc.Run(ctx) }()
		starts := map[string][]time.Time{}
		for len(starts["org0"]) < 3 || len(starts["org1"]) < 3 || len(starts["org2"]) < 3 {
			r := se.next(t)
			require.Equal(t, adsync.StatusSucceeded, r.Status, r.Error)
			starts[r.OrgID] = append(starts[r.OrgID], r.Started)
		}
		cancel()
		require.NoError(t, <-done)
		for org, ss := range starts {
			for i := 1; i < len(ss); i++ {
				assert.GreaterOrEqual(t, ss[i].Sub(ss[i-1]), interval, "%s run %d came before its due time", org, i)
			}
		}
		assert.LessOrEqual(t, cs.max(), 2)
	})
}

func TestGuardLimit(t *testing.T) {
	cases := []struct {
		name   string
		g      adsync.Guard
		active int
		want   int
	}{
		{"R-DEACT-4 defaults: the minimum of 10 below 50 links", adsync.Guard{}, 30, 10},
		{"R-DEACT-4 defaults: 20 % of 60 links", adsync.Guard{}, 60, 12},
		{"R-DEACT-4 a fraction is cut: 20 % of 57 links", adsync.Guard{}, 57, 11},
		{"R-DEACT-4 exact percent: 0.7 % of 11,000 links is 77", adsync.Guard{Min: 1, Percent: 0.7}, 11000, 77},
		{"R-DEACT-4 exact percent: 1.4 % of 5,500 links is 77", adsync.Guard{Min: 1, Percent: 1.4}, 5500, 77},
		{"R-DEACT-4 a percent that gives a fraction: 4.35 % of 100 links", adsync.Guard{Min: 1, Percent: 4.35}, 100, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.g.Limit(tc.active))
		})
	}
}

func TestSchedulerSeesRunsItDidNotStart(t *testing.T) {
	t.Run("R-RUN-1 a run forced outside the scheduler (another process, the CLI) moves the next due time", func(t *testing.T) {
		se := newSchedEnv(t, 1)
		start := se.clock.Now()
		se.start(t, 1)
		se.next(t)
		se.settle(t)
		se.clock.Advance(5 * time.Hour)
		// Not through the scheduler: a command-line sync, say.
		run, err := se.syncer.Sync(se.ctx, se.orgs[0], adsync.TriggerForced)
		require.NoError(t, err)
		require.True(t, run.Started.Equal(start.Add(5*time.Hour)))
		se.clock.Advance(19 * time.Hour) // 24 hours after the scheduler's own run
		se.none(t)
		due, err := se.sc.NextDue(se.ctx, "org0")
		require.NoError(t, err)
		assert.True(t, due.Equal(start.Add(29*time.Hour)), "due %v", due)
		se.clock.Advance(5 * time.Hour)
		r := se.next(t)
		assert.Equal(t, adsync.TriggerScheduled, r.Trigger)
		assert.True(t, r.Started.Equal(start.Add(29*time.Hour)))
	})
}

func TestSchedulerOptionsNameTheBadField(t *testing.T) {
	cases := []struct {
		name  string
		opts  adsync.SchedulerOptions
		field string
	}{
		{"R-RUN-1 a negative interval", adsync.SchedulerOptions{Interval: -time.Hour}, "SchedulerOptions.Interval"},
		{"a negative parallelism", adsync.SchedulerOptions{Parallelism: -1}, "SchedulerOptions.Parallelism"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			se := newSchedEnv(t, 1)
			_, err := adsync.NewScheduler(se.syncer, se.orgs, &tc.opts)
			require.ErrorIs(t, err, adsync.ErrInvalidConfig)
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
		})
	}
}
