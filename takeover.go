package adsync

import (
	"fmt"
	"strings"
)

// A re-created account (deleted and made again, a re-hired person) gets a
// new directory id while its old link survives, so the new account meets
// its own old contact as linked to another user (R-CONF-4). An admin's map
// resolution may take the contact over when the user linked to it is out
// of scope (R-CONF-6); the conflict suggests it when the names and email
// agree.

// linkOf returns the index of the user's link, -1 if it has none.
func (pl *planner) linkOf(userID string) int {
	if pl.linkIndex == nil {
		pl.linkIndex = make(map[string]int, len(pl.links))
		for i := range pl.links {
			pl.linkIndex[pl.links[i].UserID] = i
		}
	}
	if i, ok := pl.linkIndex[userID]; ok {
		return i
	}
	return -1
}

// outOfScope reports whether the user, linked, is known to be out of
// scope: only a full read knows (R-DEACT-3).
func (pl *planner) outOfScope(userID string) bool {
	i := pl.linkOf(userID)
	return i >= 0 && pl.p.FullRead && pl.linkState[i]&(linkInScope|linkGone|linkPending) == 0
}

// takeOver lets user u's map resolution take contact id over from the user
// other, linked to it, when other is out of scope: other's link is dropped
// (it would otherwise deactivate the contact u now has) and the run records
// the change as a warning. It reports false when other is in scope.
func (pl *planner) takeOver(u *User, contactID int64, other string) bool {
	if !pl.outOfScope(other) {
		return false
	}
	pl.p.warn(Warning{Rule: "R-CONF-6", UserID: u.ID, Message: fmt.Sprintf(
		"the resolution maps this user to contact %d, linked to user %s, which is out of scope (a re-created or re-hired account): the contact is taken over and the link of user %s is dropped",
		contactID, other, other)})
	i := pl.linkOf(other)
	pl.unlinked = append(pl.unlinked, pl.link(i)) // the link of user u's change: undoing it makes this one again
	pl.dropLink(i)
	return true
}

// suggestTakeOver adds to a contact-linked conflict (R-CONF-4) the advice to
// map the user to the contact when the user linked to it is out of scope and
// the names and email agree: most likely the same person's new account.
func (pl *planner) suggestTakeOver(u *User, c *Conflict) {
	if c.Kind != ConflictContactLinked || len(c.Candidates) != 1 || len(c.OtherUsers) != 1 || !pl.outOfScope(c.OtherUsers[0]) {
		return
	}
	ct := pl.contact(c.Candidates[0])
	if ct == nil {
		return
	}
	same := func(f Field) bool {
		return strings.EqualFold(strings.TrimSpace(u.Values[f]), strings.TrimSpace(ct.Values[f]))
	}
	if strings.TrimSpace(u.Values[Email]) == "" || !same(Email) || !same(FirstName) || !same(LastName) {
		return
	}
	c.Detail += fmt.Sprintf("; user %s is out of scope and the names and email agree, most likely a re-created account: "+
		"map this user to contact %d to take the contact over (R-CONF-6): adsync conflicts resolve --org %s --user %s --link %d",
		c.OtherUsers[0], ct.ID, pl.cfg.ID, u.ID, ct.ID)
}
