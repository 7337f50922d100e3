package adsync

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// Moving an organization between Active Directory and Entra ID (R-LINK-6).
// A user of Entra ID synced from AD carries the AD objectGUID as its
// onPremisesImmutableId (base64): the source delivers it, in the string form
// source/ldap uses as the user id, as User.Anchor. When an organization's
// directory changes from ldap to azure, the links are keyed by objectGUID
// and the Graph users by their Graph id: a Graph user without a link whose
// anchor keys one takes that link over (re-keyed to the Graph id, the contact
// kept). The other way, a link made from Entra ID keeps the user's anchor
// (Link.Anchor), and an LDAP user whose id is that anchor takes it over.

// GUIDString formats a raw 16-byte objectGUID in Microsoft's canonical
// string form (MS-DTYP 2.3.4: the first three fields little-endian), the
// form source/ldap gives as User.ID. It returns "" for a slice of another
// length.
func GUIDString(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(b[0:4]),
		binary.LittleEndian.Uint16(b[4:6]), binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16])
}

// AnchorFromImmutableID returns the objectGUID string (GUIDString) of an
// Entra ID user's onPremisesImmutableId, the base64 of its AD objectGUID;
// "" when the id is blank or is not a base64 GUID (a cloud-only user, or an
// anchor of another kind).
func AnchorFromImmutableID(id string) string {
	id = strings.TrimSpace(id)
	if id == "" {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return ""
	}
	return GUIDString(b)
}

// ImmutableIDOf returns the onPremisesImmutableId Entra ID Connect gives the
// user of objectGUID guid (GUIDString form): its base64. "" for a string
// that is no GUID. For tests and emulators seeding Entra ID from AD.
func ImmutableIDOf(guid string) string {
	raw, err := hex.DecodeString(strings.ReplaceAll(guid, "-", ""))
	if err != nil || len(raw) != 16 || len(guid) != 36 {
		return ""
	}
	// The first three fields are written big-endian in the string and
	// stored little-endian.
	var b [16]byte
	b[0], b[1], b[2], b[3] = raw[3], raw[2], raw[1], raw[0]
	b[4], b[5] = raw[5], raw[4]
	b[6], b[7] = raw[7], raw[6]
	copy(b[8:], raw[8:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// MoveReport is what carrying links across a directory move did in a run
// (R-LINK-6).
type MoveReport struct {
	// CarriedOver counts the links re-keyed to the users' ids in the new
	// directory: their contacts are kept.
	CarriedOver int `json:"carriedOver"`
	// NoAnchor counts the users read without a link and without an anchor
	// (cloud-only accounts, or users AD never synced): they go through
	// normal matching.
	NoAnchor int `json:"noAnchor"`
}

// String is the plan's line about the move.
func (m MoveReport) String() string {
	return fmt.Sprintf("directory move [R-LINK-6]: %d links carried over to the users' new directory ids (their contacts kept), %d users without a link had no anchor and are matched as usual",
		m.CarriedOver, m.NoAnchor)
}

// carryLinks re-keys the links of users who moved between directories
// (R-LINK-6): an unlinked user whose anchor is a link's user id (AD to
// Entra ID), or whose id is a link's anchor (Entra ID to AD), takes that
// link over. It also notes each linked user's anchor on its link, and
// drops a link its user's anchor left behind when a move was interrupted
// between saving the new key and deleting the old (two links then share a
// contact). userLink is updated. The lookups it needs are built only when
// some user is unlinked or some contact shared: a steady run builds none.
func (pl *planner) carryLinks(userLink []int32) {
	hasAnchors, userAnchors := false, false
	for i := range pl.links {
		if pl.links[i].Anchor != "" {
			hasAnchors = true
			break
		}
	}
	for _, u := range pl.users {
		if anchorOf(u) != "" {
			userAnchors = true
			break
		}
	}
	if !hasAnchors && !userAnchors {
		return
	}
	var byAnchor map[string]int
	anchors := func() map[string]int {
		if byAnchor == nil {
			byAnchor = map[string]int{}
			for i := range pl.links {
				if a := pl.links[i].Anchor; a != "" && !pl.links[i].Pending {
					byAnchor[a] = i
				}
			}
		}
		return byAnchor
	}
	moved, noAnchor := 0, 0
	for k, u := range pl.users {
		own := userLink[k]
		if own == -2 {
			continue // a duplicate
		}
		from := -1
		if a := anchorOf(u); a != "" && (own < 0 || pl.sharedContact) {
			// AD to Entra ID: the link is keyed by the objectGUID.
			if j := pl.linkOf(a); j >= 0 && j != int(own) && !pl.links[j].Pending {
				from = j
			}
		}
		if from < 0 && hasAnchors && (own < 0 || pl.sharedContact) {
			// Entra ID to AD: the link noted the objectGUID as anchor.
			if j, ok := anchors()[u.ID]; ok && j != int(own) {
				from = j
			}
		}
		switch {
		case own >= 0 && from >= 0:
			if pl.links[from].ContactID == pl.links[own].ContactID {
				// The old key of an interrupted move.
				pl.p.moveDrop = append(pl.p.moveDrop, pl.links[from].UserID)
				pl.linkState[from] |= linkGone
				if ci := pl.linkContact[own]; ci >= 0 {
					pl.linkedUser[ci] = pl.links[own].UserID
				}
			}
		case own >= 0:
		case from >= 0:
			l := pl.mutable(from)
			old := l.UserID
			l.UserID, l.Anchor = u.ID, anchorOf(u)
			if pl.linkIndex != nil {
				delete(pl.linkIndex, old)
				pl.linkIndex[u.ID] = from
			}
			userLink[k] = int32(from)
			if ci := pl.linkContact[from]; ci >= 0 {
				pl.linkedUser[ci] = u.ID
			}
			pl.p.moveDrop = append(pl.p.moveDrop, old)
			pl.p.movePut = append(pl.p.movePut, pl.link(from))
			pl.log.Info("link carried over a directory move", "org", pl.cfg.ID, "from", old, "to", u.ID, "contact", l.ContactID)
			moved++
			continue
		case u.Anchor == "":
			noAnchor++
		}
		if own >= 0 && pl.links[own].Anchor != anchorOf(u) && !pl.links[own].Pending {
			l := pl.mutable(int(own))
			l.Anchor = anchorOf(u)
			pl.p.markLinks = append(pl.p.markLinks, pl.link(int(own)))
		}
	}
	if moved > 0 {
		pl.p.Move = &MoveReport{CarriedOver: moved, NoAnchor: noAnchor}
	}
}

// anchorOf is the anchor a link of user u keeps: its objectGUID when u is
// an Entra ID user synced from AD, "" otherwise.
func anchorOf(u *User) string {
	if u.Anchor == u.ID {
		return ""
	}
	return u.Anchor
}
