package adsync_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
)

// logOf returns the change log of a run: kind, user, outcome and rule of
// each record, in order.
func logOf(t *testing.T, e *env, runID int64) []string {
	t.Helper()
	var out []string
	for r, err := range e.syncer.AllChanges(e.ctx, e.org.Config.ID, adsync.ChangeFilter{RunID: runID, Limit: 2}) {
		require.NoError(t, err)
		require.Equal(t, runID, r.RunID)
		out = append(out, fmt.Sprintf("%s %s %s %s", r.Kind, r.UserID, r.Outcome, r.Rule))
	}
	return out
}

// TestChangeLog: every write a run makes or tries is in its change log
// with its outcome, and the counts count the writes sent (R-RUN-4).
func TestChangeLog(t *testing.T) { onEveryStore(t, testChangeLog) }

func testChangeLog(t *testing.T, store envOption) {
	var buf bytes.Buffer
	e := newEnv(t, store, withSyncerOptions(func(o *adsync.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}))
	asIs := e.seed("Ann", "Lee", "a@x.example", true)
	inactive := e.seed("Bob", "Ray", "b@x.example", false)
	e.src.Put(user("u1", "Ann", "Lee", "a@x.example"), user("u2", "Bob", "Ray", "b@x.example"),
		user("u3", "Cy", "Doe", "c@x.example"), user("u4", "Di", "Fox", "d@x.example"))
	e.store.FailWhere(func(c contacts.Call) error {
		if c.Method == contacts.MethodCreate && c.Values[adsync.Email] == "d@x.example" {
			return adsync.ErrValidation
		}
		return nil
	})

	p, err := e.syncer.Plan(e.ctx, e.org)
	require.NoError(t, err)
	assert.Equal(t, 3, p.Writes(), "the reactivation and two creates: the link to a contact that agrees sends nothing")
	assert.Equal(t, 3, p.Counts.Writes())
	run1, err := e.sync()
	require.NoError(t, err)
	assert.Equal(t, []string{
		"link u1 linked R-MATCH-1", // agrees already: recorded as a link, not a write
		"reactivate u2 written R-MATCH-2",
		"create u3 written R-MATCH-5",
		"create u4 failed R-MATCH-5",
	}, logOf(t, e, run1.ID))
	c := run1.Counts
	assert.Equal(t, [5]int{1, 1, 1, 1, 1}, [5]int{c.Linked, c.LinkedAsIs, c.Reactivated, c.Created, c.FailedWrites})
	assert.Equal(t, 2, c.Writes(), "the reactivation and the create: nothing was sent for u1")

	recs, err := e.syncer.Changes(e.ctx, "contoso", adsync.ChangeFilter{RunID: run1.ID, ContactID: inactive})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, ptrTo(true), recs[0].Active, "the reactivation writes isActive")
	failed, err := e.syncer.Changes(e.ctx, "contoso", adsync.ChangeFilter{RunID: run1.ID, UserID: "u4"})
	require.NoError(t, err)
	require.Len(t, failed, 1)
	assert.Contains(t, failed[0].Error, "validation failed")

	e.store.ClearFaults()
	e.src.Put(with(user("u3", "Cy", "Doe", "c@x.example"), adsync.Title, "CTO"))
	e.src.Remove("u1")
	run2 := e.mustSync()
	assert.Equal(t, []string{
		"update u3 written R-FIELD-3",
		"create u4 written R-MATCH-5",
		"deactivate u1 written R-DEACT-1",
	}, logOf(t, e, run2.ID))

	// "Why did this contact change?": every change of u3, across runs.
	var why []string
	for r, err := range e.syncer.AllChanges(e.ctx, "contoso", adsync.ChangeFilter{UserID: "u3"}) {
		require.NoError(t, err)
		why = append(why, fmt.Sprintf("run %d %s %v", r.RunID, r.Kind, r.Fields))
	}
	created := e.links()["u3"].ContactID
	assert.Equal(t, []string{
		fmt.Sprintf("run %d create [{firstName  Cy} {lastName  Doe} {emailAddress  c@x.example}]", run1.ID),
		fmt.Sprintf("run %d update [{title  CTO}]", run2.ID),
	}, why)
	byContact, err := e.syncer.Changes(e.ctx, "contoso", adsync.ChangeFilter{ContactID: created})
	require.NoError(t, err)
	assert.Len(t, byContact, 2, "the create records the contact it made")
	deact, err := e.syncer.Changes(e.ctx, "contoso", adsync.ChangeFilter{Kind: adsync.ChangeDeactivate})
	require.NoError(t, err)
	require.Len(t, deact, 1)
	assert.Equal(t, asIs, deact[0].ContactID)

	// Logs: one debug line per write, one info line per run with its counts.
	out := buf.String()
	assert.Equal(t, 7, strings.Count(out, "msg=write "), out)
	assert.Contains(t, out, "msg=\"run finished\"")
	assert.Contains(t, out, "counts.reactivated=1")
	assert.Contains(t, out, "counts.writes=3")

	_, err = e.syncer.Changes(e.ctx, "contoso", adsync.ChangeFilter{RunID: 999})
	assert.ErrorIs(t, err, adsync.ErrNotFound, "a run not kept")
	_, err = e.syncer.Changes(e.ctx, "fabrikam", adsync.ChangeFilter{RunID: run1.ID})
	assert.ErrorIs(t, err, adsync.ErrNotFound, "another organization's run")
}

func ptrTo[T any](v T) *T { return &v }

// TestChangeLogOfUnsentChanges: held deactivations and the changes a stop
// left are logged too, as held and stopped (R-DEACT-4, R-RUN-6).
func TestChangeLogOfUnsentChanges(t *testing.T) { onEveryStore(t, testChangeLogOfUnsentChanges) }

func testChangeLogOfUnsentChanges(t *testing.T, store envOption) {
	e := newEnv(t, store, withSyncerOptions(func(o *adsync.Options) { o.BatchSize = 2; o.WriteConcurrency = 1 }))
	for i := range 30 {
		e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
	}
	e.mustSync()
	for i := range 12 { // 12 > max(10, 20% of 30)
		e.src.Remove(fmt.Sprintf("u%02d", i))
	}
	for i := 20; i < 25; i++ {
		e.src.Put(with(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)), adsync.City, "Rome"))
	}
	updates := 0
	e.store.FailWhere(func(c contacts.Call) error {
		if c.Method == contacts.MethodUpdate {
			if updates++; updates == 2 {
				return adsync.ErrUnauthorized // systemic: the run stops
			}
		}
		return nil
	})
	run, err := e.sync()
	require.ErrorIs(t, err, adsync.ErrUnauthorized)
	counts := map[adsync.Outcome]int{}
	for r, err := range e.syncer.AllChanges(e.ctx, "contoso", adsync.ChangeFilter{RunID: run.ID}) {
		require.NoError(t, err)
		counts[r.Outcome]++
	}
	assert.Equal(t, map[adsync.Outcome]int{adsync.OutcomeWritten: 1, adsync.OutcomeFailed: 1, adsync.OutcomeStopped: 3,
		adsync.OutcomeHeld: 12}, counts)
}
