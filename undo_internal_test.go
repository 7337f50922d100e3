package adsync

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// relinkUndo is the undo of a run 7 that moved u1 from contact 1 to
// contact 2 (an admin's resolution, R-CONF-6), linked u2 to contact 1 with
// a reactivation and created contact 3 for u3: the undo drops the three
// links the run made, deactivates contacts 1 and 3, and makes u1's link to
// contact 1 again, which waits for u2's drop.
func relinkUndo(t *testing.T) *undoer {
	t.Helper()
	p := &Plan{}
	u := &undoer{p: p, run: 7,
		links:     map[string]*Link{},
		linkedTo:  map[int64]string{},
		wasLinked: map[int64]string{1: "u2", 2: "u1", 3: "u3"},
		contacts:  map[int64]*Contact{1: {ID: 1, Active: true}, 2: {ID: 2, Active: true}, 3: {ID: 3, Active: true}},
		active:    3,
		dropAt:    map[string]int{"u1": 0, "u2": 1, "u3": 2},
		kept:      map[string]int64{},
	}
	p.Changes = []Change{
		{Kind: ChangeUnlink, UserID: "u1", ContactID: 2, linkOp: linkDrop, Unlinked: []Link{{UserID: "u1", ContactID: 2, Active: true}}},
		{Kind: ChangeDeactivate, UserID: "u2", ContactID: 1, Active: ptr(false), linkOp: linkDrop, Unlinked: []Link{{UserID: "u2", ContactID: 1, Active: true}}},
		{Kind: ChangeDeactivate, UserID: "u3", ContactID: 3, Active: ptr(false), linkOp: linkDrop, Unlinked: []Link{{UserID: "u3", ContactID: 3, Active: true}}},
	}
	rec := &ChangeRecord{RunID: 7, Seq: 1, Change: Change{Kind: ChangeLink, Rule: "R-CONF-6", UserID: "u1", ContactID: 2}}
	u.unlinked = []unlinked{{rec: rec, link: Link{UserID: "u1", ContactID: 1, Active: true}}}
	return u
}

// TestKeepRestores: a link an undo makes again replaces the drop of its
// user's newer link; when the guard holds the drop that frees its contact
// (R-DEACT-4) the restore is withdrawn and the newer link is dropped after
// all, so that no change is logged as leaving a link it did not touch, and
// no user is linked twice nor a contact to two users (R-LINK-5).
func TestKeepRestores(t *testing.T) {
	for _, tc := range []struct {
		name     string
		guard    Guard
		restored bool
	}{
		{"R-DEACT-4 the guard holds the drop that frees the contact: the restore waits, u1's newer link is dropped", Guard{Min: 1, Percent: 1}, false},
		{"R-CONF-6 nothing held: the restore replaces u1's newer link", Guard{Off: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := relinkUndo(t)
			needs := u.restore()
			require.Equal(t, map[string]string{"u1": "u2"}, needs)
			require.Equal(t, linkLeave, u.p.Changes[0].linkOp, "the restore's put replaces u1's link")
			u.guard(tc.guard)
			u.keepRestores(needs)

			var restore *Change
			for i := range u.p.Changes {
				if u.p.Changes[i].linkOp == linkRestore {
					restore = &u.p.Changes[i]
				}
			}
			unlink := u.p.Changes[0]
			require.Equal(t, ChangeUnlink, unlink.Kind)
			if tc.restored {
				require.NotNil(t, restore)
				assert.Equal(t, int64(1), restore.ContactID)
				assert.Equal(t, linkLeave, unlink.linkOp)
				assert.Equal(t, 1, u.p.Counts.Linked)
				return
			}
			assert.Nil(t, restore)
			assert.Len(t, u.p.Held, 2)
			assert.Equal(t, linkDrop, unlink.linkOp, "u1's newer link is dropped as its record says")
			assert.Zero(t, u.p.Counts.Linked)
		})
	}
}
