package adsync_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

func TestActorRecorded(t *testing.T) {
	e := newEnv(t)
	e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
	ctx := adsync.WithActor(e.ctx, "jane@msp.example")
	run, err := e.syncer.Sync(ctx, e.org, adsync.TriggerForced)
	require.NoError(t, err)
	assert.Equal(t, "jane@msp.example", run.By, "R-RUN-4 the run records who started it")
	rec, err := e.hist.Run(e.ctx, "contoso", run.ID)
	require.NoError(t, err)
	assert.Equal(t, "jane@msp.example", rec.By, "and the history keeps it")

	require.NoError(t, e.syncer.Resolve(ctx, e.org.Config, adsync.Resolution{UserID: "u2", Action: adsync.ResolveIgnore}))
	rs, err := e.hist.Resolutions(e.ctx, "contoso")
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, "jane@msp.example", rs[0].By, "R-CONF-6 a resolution records who made it")

	run = e.mustSync()
	assert.Empty(t, run.By, "a run without an actor: the scheduler or the program")
}
