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
				assert.Len(t, p.Held, 5)
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

func TestSafetyConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(*adsync.OrgConfig)
		field string
	}{
		{"R-DEACT-6 a negative window", func(c *adsync.OrgConfig) { c.Guard.Window = -time.Hour }, "guard.window"},
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
