package adsync_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// undoScenario: run 1 links u1 (title set), reactivates u2's contact by
// matching (R-MATCH-2) and creates u3 and u4; run 2 promotes u1 and
// deactivates u4's contact (R-DEACT-1).
func undoScenario(t *testing.T, store envOption) (e *env, run1, run2 adsync.Run) {
	e = newEnv(t, store)
	e.seed("Ann", "Lee", "a@x.example", true)
	e.seed("Bob", "Ray", "b@x.example", false)
	e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, "CFO"), user("u2", "Bob", "Ray", "b@x.example"),
		user("u3", "Cy", "Doe", "c@x.example"), user("u4", "Di", "Fox", "d@x.example"))
	run1 = e.mustSync()
	require.Equal(t, [3]int{1, 1, 2}, [3]int{run1.Counts.Linked, run1.Counts.Reactivated, run1.Counts.Created})
	e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, "CEO"))
	e.src.Remove("u4")
	run2 = e.mustSync()
	require.Equal(t, [2]int{1, 1}, [2]int{run2.Counts.Updated, run2.Counts.Deactivated})
	return e, run1, run2
}

func (e *env) undo(runID int64) (*adsync.Plan, adsync.Run) {
	e.t.Helper()
	p, err := e.syncer.PlanUndo(e.ctx, e.org, runID)
	require.NoError(e.t, err)
	e.clock.Advance(1)
	run, err := e.syncer.Apply(e.ctx, e.org, p)
	require.NoError(e.t, err)
	return p, run
}

func (e *env) contactOf(userID string) adsync.Contact {
	e.t.Helper()
	return e.contact(e.links()[userID].ContactID)
}

func TestUndo(t *testing.T) { onEveryStore(t, testUndo) }

func testUndo(t *testing.T, store envOption) {
	t.Run("a deactivation becomes a reactivation, an update restores the value before; the undo can be undone", func(t *testing.T) {
		e, _, run2 := undoScenario(t, store)
		u4 := e.links()["u4"].ContactID
		p, undo := e.undo(run2.ID)
		assert.Equal(t, 1, p.Counts.Reactivated)
		assert.Equal(t, 1, p.Counts.Updated)
		assert.Equal(t, adsync.TriggerUndo, undo.Trigger)
		assert.Equal(t, run2.ID, undo.UndoneRun)
		assert.Equal(t, adsync.StatusSucceeded, undo.Status)
		assert.True(t, e.contact(u4).Active, "reactivated")
		assert.True(t, e.links()["u4"].Active, "its link is active again")
		assert.Equal(t, "CFO", e.contactOf("u1").Values[adsync.Title], "the title before run 2")
		assert.ElementsMatch(t, []string{"update u1 written undo:R-FIELD-3", "reactivate u4 written undo:R-DEACT-1"}, logOf(t, e, undo.ID),
			"the undo has its own change log")

		_, redo := e.undo(undo.ID)
		assert.Equal(t, undo.ID, redo.UndoneRun)
		assert.False(t, e.contact(u4).Active, "deactivated again")
		assert.False(t, e.links()["u4"].Active)
		assert.Equal(t, "CEO", e.contactOf("u1").Values[adsync.Title])
	})

	t.Run("a create becomes a deactivation, a reactivation a deactivation, links return to what they were", func(t *testing.T) {
		e, run1, _ := undoScenario(t, store)
		u2, u3, u1 := e.links()["u2"].ContactID, e.links()["u3"].ContactID, e.links()["u1"].ContactID
		n := len(e.contacts())
		// Someone edits u1's title in Autotask: the undo leaves it.
		require.True(t, e.store.Edit(u1, func(c *adsync.Contact) { c.Values[adsync.Title] = "Boss" }))
		p, _ := e.undo(run1.ID)
		assert.Len(t, e.contacts(), n, "contacts are never deleted")
		assert.False(t, e.contact(u3).Active, "the created contact is deactivated")
		assert.False(t, e.contact(u2).Active, "the reactivated contact is inactive again")
		assert.Equal(t, "Boss", e.contact(u1).Values[adsync.Title], "changed since: left as it is")
		links := e.links()
		for _, u := range []string{"u1", "u2", "u3", "u4"} {
			assert.NotContains(t, links, u, "the link run 1 made is dropped")
		}
		assert.Contains(t, fmt.Sprint(p.Warnings), `title is "Boss" now, not the "CFO" the run wrote (changed since in Autotask, not by adsync)`)
		assert.Contains(t, fmt.Sprint(p.Warnings), "the contact is inactive already", "u4's create: deactivated by run 2")
	})

	t.Run("a field changed since by a later run names that run", func(t *testing.T) {
		e, _, run2 := undoScenario(t, store)
		e.src.Put(with(user("u1", "Ann", "Lee", "a@x.example"), adsync.Title, "CTO"))
		run3 := e.mustSync()
		p, err := e.syncer.PlanUndo(e.ctx, e.org, run2.ID)
		require.NoError(t, err)
		assert.Zero(t, p.Counts.Updated)
		assert.Contains(t, fmt.Sprint(p.Warnings), fmt.Sprintf("changed since by run %d (update, R-FIELD-3)", run3.ID))
	})

	t.Run("refused: a run not kept, another organization's, one in progress", func(t *testing.T) {
		e, run1, _ := undoScenario(t, store)
		_, err := e.syncer.PlanUndo(e.ctx, e.org, run1.ID+100)
		assert.ErrorIs(t, err, adsync.ErrNotFound)
		assert.ErrorContains(t, err, "keeps the newest 10 runs")
		other := e.org
		other.Config.ID = "fabrikam"
		_, err = e.syncer.PlanUndo(e.ctx, other, run1.ID)
		assert.ErrorIs(t, err, adsync.ErrNotFound, "another organization's run")
		lk, err := e.syncer.History().TryLock(e.ctx, "contoso")
		require.NoError(t, err)
		_, err = e.syncer.PlanUndo(e.ctx, e.org, run1.ID)
		assert.ErrorIs(t, err, adsync.ErrRunInProgress)
		lk.Unlock()

		p, err := e.syncer.PlanUndo(e.ctx, e.org, run1.ID)
		require.NoError(t, err)
		e.mustSync()
		_, err = e.syncer.Apply(e.ctx, e.org, p)
		assert.ErrorIs(t, err, adsync.ErrStalePlan, "a run came since the undo was planned")
	})

	t.Run("R-DEACT-4 the guard holds an undo's mass deactivations", func(t *testing.T) {
		e := newEnv(t, store)
		for i := range 12 {
			e.src.Put(user(fmt.Sprintf("u%02d", i), "A", fmt.Sprint("B", i), fmt.Sprintf("u%d@x.example", i)))
		}
		run1 := e.mustSync()
		p, undo := e.undo(run1.ID)
		assert.Equal(t, 12, p.Counts.Held, "12 > max(10, 20% of 12)")
		assert.Equal(t, adsync.StatusHeld, undo.Status)
		for _, c := range e.contacts() {
			assert.True(t, c.Active)
		}
		_, err := e.syncer.Approve(e.ctx, e.org, undo.ID)
		assert.ErrorIs(t, err, adsync.ErrRefused, "an undo is not approved: it is undone again with higher limits")

		e.org.Config.Guard.Off = true
		_, again := e.undo(run1.ID)
		assert.Equal(t, 12, again.Counts.Deactivated)
	})
}

func TestUndoOfNothingIsEmpty(t *testing.T) {
	e, _, _ := undoScenario(t, withConfig(func(*adsync.OrgConfig) {}))
	run3 := e.mustSync() // nothing changed: writes nothing
	require.Zero(t, run3.Counts.Writes())
	p, err := e.syncer.PlanUndo(e.ctx, e.org, run3.ID)
	require.NoError(t, err)
	assert.True(t, p.Empty(), "an undo of a run that wrote nothing changes nothing")
	p, err = e.syncer.PlanUndo(e.ctx, e.org, 2)
	require.NoError(t, err)
	assert.False(t, p.Empty(), "an undo of run 2 has writes")
}
