package adsync

import (
	"cmp"
	"hash/maphash"
	"slices"
)

// A run holds three copies of most values at once: the directory's (User),
// Autotask's (Contact) and the last written (Link.Written), each a string
// of its own as each source decoded it. In the steady state they are
// equal, and at 400,000 users the copies are a quarter of the run's memory.
// While reading, sharer makes a user's and a contact's values that equal
// their link's written values point to the link's strings, so that the
// copies read are garbage as soon as their page is: the values are the
// same, only the memory holding them is shared.
type sharer struct {
	links     []Link
	seed      maphash.Seed
	byUser    []hashIdx    // the links by hash of user id
	byContact []contactIdx // the links with written values, by contact id
}

type contactIdx struct {
	id int64
	i  int32
}

// newSharer indexes the links; nil when there are none.
func newSharer(links []Link) *sharer {
	if len(links) == 0 {
		return nil
	}
	s := &sharer{links: links, seed: maphash.MakeSeed()}
	s.byUser = hashIDs(s.seed, len(links), func(i int) string { return links[i].UserID })
	for i := range links {
		if l := &links[i]; l.ContactID != 0 && len(l.Written) > 0 {
			s.byContact = append(s.byContact, contactIdx{l.ContactID, int32(i)})
		}
	}
	slices.SortFunc(s.byContact, func(a, b contactIdx) int { return cmp.Compare(a.id, b.id) })
	return s
}

// user makes u's id and values share its link's strings where equal.
func (s *sharer) user(u *User) {
	if s == nil {
		return
	}
	h := maphash.String(s.seed, u.ID)
	k, _ := slices.BinarySearchFunc(s.byUser, h, func(x hashIdx, h uint64) int { return cmp.Compare(x.h, h) })
	for ; k < len(s.byUser) && s.byUser[k].h == h; k++ {
		if l := &s.links[s.byUser[k].i]; l.UserID == u.ID {
			u.ID = l.UserID
			share(&u.Values, l.Written)
			return
		}
	}
}

// contact makes c's values share its link's strings where equal (of the
// links naming c: one of them, when an interrupted move left two).
func (s *sharer) contact(c *Contact) {
	if s == nil {
		return
	}
	k, ok := slices.BinarySearchFunc(s.byContact, c.ID, func(x contactIdx, id int64) int { return cmp.Compare(x.id, id) })
	if ok {
		share(&c.Values, s.links[s.byContact[k].i].Written)
	}
}

func share(v *Values, written map[Field]string) {
	for f, w := range written {
		if f.Valid() && v[f] == w {
			v[f] = w
		}
	}
}
