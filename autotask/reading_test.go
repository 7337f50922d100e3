package autotask

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
)

func TestAPIBudgetReading(t *testing.T) {
	srv := newEmulator(t, autotasktest.Options{HourlyLimit: 1000})
	co := srv.AddCompany("Acme")
	srv.AddUsage(600)
	c := newTestClient(t, srv, nil)
	_, ok := c.APIBudget()
	assert.False(t, ok, "nothing read yet")
	var sl sleeps
	sl.install(c)
	require.NoError(t, c.Check(context.Background(), co))
	b, ok := c.APIBudget()
	require.True(t, ok)
	assert.Equal(t, 1000, b.Limit)
	assert.GreaterOrEqual(t, b.Used, 600, "the usage read, plus the client's own calls")
	assert.Equal(t, DefaultBudgetShare, b.PaceAt)
	assert.True(t, b.Paced())
	var _ adsync.APIBudgetReader = c
}
