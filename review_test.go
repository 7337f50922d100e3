package adsync_test

import (
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
	})
}
