package adsync_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// recordsOf returns the change records of a run.
func recordsOf(t *testing.T, e *env, runID int64) []adsync.ChangeRecord {
	t.Helper()
	var out []adsync.ChangeRecord
	for r, err := range e.syncer.AllChanges(e.ctx, e.org.Config.ID, adsync.ChangeFilter{RunID: runID}) {
		require.NoError(t, err)
		out = append(out, r)
	}
	return out
}

// sameLink asserts that a link is the one kept before, as it was.
func sameLink(t *testing.T, want, got adsync.Link, msg string) {
	t.Helper()
	assert.Equal(t, want.ContactID, got.ContactID, msg)
	assert.Equal(t, want.Created, got.Created, msg+": created")
	assert.Equal(t, want.Active, got.Active, msg+": active")
	assert.Equal(t, want.Written, got.Written, msg+": written values (R-FIELD-9's base)")
	assert.True(t, want.LinkedAt.Equal(got.LinkedAt), "%s: linked at %v, want %v", msg, got.LinkedAt, want.LinkedAt)
}

// TestUndoLinks: an undo returns links to what they were, also the links
// an admin's resolution replaced or took over (R-CONF-6) and the links an
// undo dropped, on every history store.
func TestUndoLinks(t *testing.T) { onEveryStore(t, testUndoLinks) }

func testUndoLinks(t *testing.T, store envOption) {
	t.Run("R-CONF-6 a map resolution moved a linked user: the undo links it to its old contact again, as it was; undoing the undo moves it back", func(t *testing.T) {
		e := newEnv(t, store)
		a := e.seed("Ann", "Lee", "ann@x.example", true)
		b := e.seed("Ann", "Lee", "ann.lee@x.example", false)
		e.src.Put(with(user("u1", "Ann", "Lee", "ann@x.example"), adsync.Title, "CFO"))
		e.mustSync()
		before := e.links()["u1"]
		require.Equal(t, a, before.ContactID)
		require.NotEmpty(t, before.Written)

		require.NoError(t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u1", Action: adsync.ResolveLink, ContactID: b}))
		moved := e.mustSync()
		require.Equal(t, b, e.links()["u1"].ContactID)
		recs := recordsOf(t, e, moved.ID)
		require.Len(t, recs, 1)
		require.Len(t, recs[0].Unlinked, 1, "the log keeps the link the resolution replaced")
		sameLink(t, before, recs[0].Unlinked[0], "logged")
		onB := e.links()["u1"]

		p, undo := e.undo(moved.ID)
		assert.Equal(t, 1, p.Counts.Deactivated, "b was inactive before")
		assert.Equal(t, 1, p.Counts.LinkedAsIs, "the old link is made again, nothing sent")
		assert.Contains(t, fmt.Sprint(p.Warnings), fmt.Sprintf("the link of user u1 to Ann Lee <ann@x.example> (contact %d) that run %d dropped is made again", a, moved.ID))
		sameLink(t, before, e.links()["u1"], "the link before the resolution")
		assert.False(t, e.contact(b).Active)
		assert.Equal(t, []string{"deactivate u1 written undo:R-CONF-6", "link u1 linked undo:R-CONF-6"}, logOf(t, e, undo.ID))

		_, redo := e.undo(undo.ID)
		assert.Equal(t, undo.ID, redo.UndoneRun)
		sameLink(t, onB, e.links()["u1"], "the resolution's link again")
		assert.True(t, e.contact(b).Active)
		assert.True(t, e.contact(a).Active, "a was never deactivated")
	})

	t.Run("R-CONF-6 a take-over: the undo gives the contact back to the out-of-scope user's link, as it was, and the undo can be undone", func(t *testing.T) {
		e := newEnv(t, store)
		e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
		e.mustSync()
		e.src.Remove("u1")
		e.src.Put(user("u1b", "Ann", "Lee", "ann@x.example"))
		e.mustSync() // deactivates u1's contact: u1b is in conflict with it (R-CONF-4)
		old := e.links()["u1"]
		id := old.ContactID
		require.False(t, old.Active)
		require.NoError(t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u1b", Action: adsync.ResolveLink, ContactID: id}))
		take := e.mustSync()
		require.NotContains(t, e.links(), "u1")
		recs := recordsOf(t, e, take.ID)
		require.Len(t, recs, 1)
		require.Len(t, recs[0].Unlinked, 1)
		sameLink(t, old, recs[0].Unlinked[0], "the log keeps u1's dropped link")
		assert.Equal(t, "u1", recs[0].Unlinked[0].UserID)

		_, undo := e.undo(take.ID)
		links := e.links()
		assert.NotContains(t, links, "u1b", "the link the take-over made is dropped")
		sameLink(t, old, links["u1"], "u1's link as it was")
		assert.False(t, e.contact(id).Active, "inactive again, as u1 left it")

		_, redo := e.undo(undo.ID)
		require.Equal(t, adsync.StatusSucceeded, redo.Status)
		links = e.links()
		assert.NotContains(t, links, "u1", "taken over again")
		assert.Equal(t, id, links["u1b"].ContactID)
		assert.True(t, e.contact(id).Active)
	})

	t.Run("a link an undo dropped comes back when the undo is undone", func(t *testing.T) {
		e := newEnv(t, store)
		id := e.seed("Ann", "Lee", "ann@x.example", true)
		e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
		run1 := e.mustSync()
		require.Equal(t, 1, run1.Counts.LinkedAsIs)
		before := e.links()["u1"]

		p, undo := e.undo(run1.ID)
		require.Len(t, p.Changes, 1)
		assert.Equal(t, adsync.ChangeUnlink, p.Changes[0].Kind)
		assert.Zero(t, p.Counts.Writes(), "an unlink sends nothing")
		assert.NotContains(t, e.links(), "u1")
		assert.Equal(t, []string{"unlink u1 unlinked undo:R-MATCH-1"}, logOf(t, e, undo.ID))
		assert.Contains(t, p.String(), fmt.Sprintf("unlinked: user u1 from contact %d", id))

		e.undo(undo.ID)
		sameLink(t, before, e.links()["u1"], "the link run 1 made")
	})

	t.Run("a dropped link is not made again when its contact is linked to another user since", func(t *testing.T) {
		e := newEnv(t, store)
		a := e.seed("Ann", "Lee", "ann@x.example", true)
		b := e.seed("Ann", "Lee", "ann.lee@x.example", true)
		e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"))
		e.mustSync()
		require.NoError(t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u1", Action: adsync.ResolveLink, ContactID: b}))
		moved := e.mustSync()
		require.NoError(t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u9", Action: adsync.ResolveLink, ContactID: a}))
		e.src.Put(user("u9", "Al", "Lee", "al@x.example"))
		e.mustSync()
		require.Equal(t, a, e.links()["u9"].ContactID)

		p, _ := e.undo(moved.ID)
		assert.Contains(t, fmt.Sprint(p.Warnings), fmt.Sprintf("the link of user u1 to contact %d that it dropped is not made again: the contact is linked to user u9 now", a))
		assert.NotContains(t, e.links(), "u1", "the resolution's link is dropped all the same")
		assert.Equal(t, a, e.links()["u9"].ContactID, "u9's link stands")
	})

	t.Run("R-DEACT-4 a take-over's link is not given back while the guard holds the deactivation that frees its contact", func(t *testing.T) {
		e := newEnv(t, store)
		e.src.Put(user("u1", "Ann", "Lee", "ann@x.example"), user("u2", "Bob", "Ray", "bob@x.example"))
		e.mustSync()
		e.src.Remove("u1")
		e.src.Put(user("u1b", "Ann", "Lee", "ann@x.example"))
		e.mustSync()
		id := e.links()["u1"].ContactID
		require.NoError(t, e.syncer.Resolve(e.ctx, e.org.Config, adsync.Resolution{UserID: "u1b", Action: adsync.ResolveLink, ContactID: id}))
		e.src.Put(user("u3", "Cy", "Doe", "cy@x.example"))
		take := e.mustSync() // takes id over, creates u3's contact
		require.Equal(t, 1, take.Counts.Created)

		e.org.Config.Guard = adsync.Guard{Min: 1, Percent: 0.01}
		p, undo := e.undo(take.ID)
		assert.Equal(t, 2, p.Counts.Held, "two deactivations, one allowed")
		assert.Equal(t, adsync.StatusHeld, undo.Status)
		assert.Zero(t, p.Counts.Linked)
		assert.Contains(t, fmt.Sprint(p.Warnings), "user u1b stays linked to it while its deactivation is held")
		links := e.links()
		assert.NotContains(t, links, "u1", "no contact is linked to two users (R-LINK-5)")
		assert.Equal(t, id, links["u1b"].ContactID)

		e.org.Config.Guard = adsync.Guard{Off: true}
		e.undo(take.ID)
		links = e.links()
		assert.Equal(t, id, links["u1"].ContactID, "given back once the deactivation is applied")
		assert.NotContains(t, links, "u1b")
	})
}
