package adsync_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
)

// TestPlanCallEstimate checks the plan's estimate of a run's calls and
// budget hours (issue 14): reads of the contacts, one write per change, a
// second for a create with a billing product, at the store's budget; the
// plan prints it for a run that needs a tenth of an hour's budget.
func TestPlanCallEstimate(t *testing.T) {
	tests := []struct {
		name     string
		users    int
		contacts int // of the users, those with a contact already (agreeing: linked as is)
		billing  int64
		budget   *adsync.APIBudget
		want     adsync.CallEstimate
		printed  string // "" when not printed
	}{
		{name: "first run with a billing product", users: 1200, billing: 42,
			want:    adsync.CallEstimate{Reads: 1, Writes: 2400, PerHour: adsync.DefaultCallsPerHour},
			printed: "contoso: about 2401 Autotask calls (1 reads, 2400 writes), about 17 minutes at the current budget (9000 calls an hour)"},
		{name: "first run without one", users: 1200,
			want:    adsync.CallEstimate{Reads: 1, Writes: 1200, PerHour: adsync.DefaultCallsPerHour},
			printed: "contoso: about 1201 Autotask calls (1 reads, 1200 writes), about 9 minutes at the current budget (9000 calls an hour)"},
		{name: "contacts linked as they are send nothing", users: 1200, contacts: 1100, billing: 42,
			want: adsync.CallEstimate{Reads: 3, Writes: 200, PerHour: adsync.DefaultCallsPerHour}},
		{name: "the store's budget and stop", users: 3000, billing: 42, budget: &adsync.APIBudget{Used: 10, Limit: 10_000, PaceAt: 0.5, StopAt: 0.5},
			want:    adsync.CallEstimate{Reads: 1, Writes: 6000, PerHour: 5000},
			printed: "contoso: about 6001 Autotask calls (1 reads, 6000 writes), about 1.2 hours at the current budget (5000 calls an hour)"},
		{name: "a small run prints none", users: 10, billing: 42,
			want: adsync.CallEstimate{Reads: 1, Writes: 20, PerHour: adsync.DefaultCallsPerHour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []envOption
			opts = append(opts, withConfig(func(c *adsync.OrgConfig) { c.BillingProductID = tt.billing }))
			if tt.budget != nil {
				opts = append(opts, withStore(func(m *contacts.Memory) adsync.ContactStore { return budgetStore{m, *tt.budget} }))
			}
			e := newEnv(t, opts...)
			for i := range tt.users {
				first, last, mail := fmt.Sprintf("F%d", i), fmt.Sprintf("L%d", i), fmt.Sprintf("u%d@x.example", i)
				e.src.Put(user(fmt.Sprint("u", i), first, last, mail))
				if i < tt.contacts {
					e.seed(first, last, mail, true)
				}
			}
			p, err := e.syncer.Plan(e.ctx, e.org)
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.Calls)
			out := p.String()
			if tt.printed == "" {
				assert.NotContains(t, out, "Autotask calls")
			} else {
				assert.Contains(t, out, "\n"+tt.printed+"\n")
			}
		})
	}
}

func TestCallEstimateHours(t *testing.T) {
	tests := []struct {
		e    adsync.CallEstimate
		want string
	}{
		{adsync.CallEstimate{Reads: 1, Writes: 5, PerHour: 9000}, "about 1 minutes"},
		{adsync.CallEstimate{Reads: 800, Writes: 796_000, PerHour: 9000}, "about 89 hours (3.7 days)"},
		{adsync.CallEstimate{Reads: 200, Writes: 180_000, PerHour: 9000}, "about 21 hours "},
	}
	for _, tt := range tests {
		assert.Contains(t, tt.e.String(), tt.want)
	}
	assert.Zero(t, adsync.CallEstimate{Reads: 1}.Hours(), "no budget known: no hours")
}
