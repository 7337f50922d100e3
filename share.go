package adsync

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync/atomic"
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
	written   *writtenVals
	seed      maphash.Seed
	byUser    []hashIdx    // the links by hash of user id
	byContact []contactIdx // the links with written values, by contact id
}

type contactIdx struct {
	id int64
	i  int32
}

// newSharer indexes the links, whose written values are w's; nil when
// there are none.
func newSharer(links []Link, w *writtenVals) *sharer {
	if len(links) == 0 {
		return nil
	}
	s := &sharer{links: links, written: w, seed: maphash.MakeSeed()}
	s.byUser = hashIDs(s.seed, len(links), func(i int) string { return links[i].UserID })
	for i := range links {
		if l := &links[i]; l.ContactID != 0 && w != nil && w.set[i] != 0 {
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
			s.share(&u.Values, int(s.byUser[k].i))
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
		s.share(&c.Values, int(s.byContact[k].i))
	}
}

// share makes the values of v equal to link i's written values point to
// them.
func (s *sharer) share(v *Values, i int) {
	if s.written == nil {
		return
	}
	k := int(s.written.off[i])
	for _, f := range s.written.set[i].Fields() {
		if w := s.written.vals[k]; v[f] == w {
			v[f] = w
		}
		k++
	}
}

// writtenVals holds the links' written values (Link.Written) of one
// reading in three flat slices. A map of 9 to 14 fields takes 504 bytes
// in Go and a link's usually has about 10: at 400,000 links the maps were
// a quarter of a run's memory; here a link's values take 16 bytes each
// plus 8. The strings are the store's, shared as before.
type writtenVals struct {
	set  []FieldSet // by link: the fields with a written value
	off  []int32    // by link: the index of its first value in vals
	vals []string   // each link's values, in field order
}

// compactLinks returns a copy of links without their written values, and
// the values apart (nil when no link has any). The copy leaves the store's
// slice and maps to the collector, whatever the store keeps of them.
func compactLinks(links []Link) ([]Link, *writtenVals) {
	n := 0
	for i := range links {
		n += len(links[i].Written)
	}
	if n == 0 {
		return links, nil
	}
	w := &writtenVals{set: make([]FieldSet, len(links)), off: make([]int32, len(links)), vals: make([]string, 0, n)}
	out := make([]Link, len(links))
	for i := range links {
		out[i] = links[i]
		out[i].Written = nil
		w.off[i] = int32(len(w.vals))
		for f := Field(0); f < NumFields; f++ {
			if v, ok := links[i].Written[f]; ok {
				w.set[i] = w.set[i].With(f)
				w.vals = append(w.vals, v)
			}
		}
	}
	return out, w
}

// get returns the value written to field f of link i.
func (w *writtenVals) get(i int, f Field) (string, bool) {
	s := w.set[i]
	if !s.Has(f) {
		return "", false
	}
	return w.vals[int(w.off[i])+(s&(1<<f-1)).Len()], true
}

// values returns the values written to link i, blank where none was.
func (w *writtenVals) values(i int) Values {
	var v Values
	k := int(w.off[i])
	for _, f := range w.set[i].Fields() {
		v[f] = w.vals[k]
		k++
	}
	return v
}

// of returns the written values of link i as Link.Written holds them.
func (w *writtenVals) of(i int) map[Field]string {
	s := w.set[i]
	if s == 0 {
		return nil
	}
	m := make(map[Field]string, s.Len())
	k := int(w.off[i])
	for _, f := range s.Fields() {
		m[f] = w.vals[k]
		k++
	}
	return m
}

// shareUser makes u share its link's strings (sh may be nil: none yet),
// and its UPN its email's when they are equal.
func shareUser(sh *sharer, u *User) {
	sh.user(u)
	if u.UPN == u.Values[Email] {
		u.UPN = u.Values[Email] // most often the same: held once
	}
}

// lateSharer hands the reads the sharer once the links are loaded, which
// happens while they read. Each read notes how many of its records came
// before (its pages then were not shared); catchUp shares those once both
// reads and the links are done. A nil *lateSharer shares nothing.
type lateSharer struct {
	p atomic.Pointer[sharer]
	// users and contacts are the records read before the sharer: 0 until
	// a page comes, -1 once a page came without it (all of them, so far);
	// only their own read goroutine writes each.
	users, contacts int
}

func (l *lateSharer) set(s *sharer) { l.p.Store(s) }

// forUsers returns the sharer for a page of users, n read before it.
func (l *lateSharer) forUsers(n int) *sharer {
	if l == nil {
		return nil
	}
	s := l.p.Load()
	if s == nil {
		l.users = -1
	} else if l.users < 0 {
		l.users = n
	}
	return s
}

// resetUsers forgets the users read so far (the read starts again).
func (l *lateSharer) resetUsers() {
	if l != nil && l.users > 0 {
		l.users = 0
	}
}

// forContacts returns the sharer for a page of contacts, n read before it.
func (l *lateSharer) forContacts(n int) *sharer {
	if l == nil {
		return nil
	}
	s := l.p.Load()
	if s == nil {
		l.contacts = -1
	} else if l.contacts < 0 {
		l.contacts = n
	}
	return s
}

// contactsMoved says the contacts were reordered: n of them may be
// unshared anywhere.
func (l *lateSharer) contactsMoved(n int) {
	if l != nil && l.contacts != 0 {
		l.contacts = n
	}
}

// catchUp shares the users and contacts read before the sharer was there.
func (l *lateSharer) catchUp(users []*User, contacts []*Contact) {
	s := l.p.Load()
	if s == nil {
		return
	}
	n := len(users)
	if l.users >= 0 {
		n = min(l.users, n)
	}
	for _, u := range users[:n] {
		shareUser(s, u)
	}
	n = len(contacts)
	if l.contacts >= 0 {
		n = min(l.contacts, n)
	}
	for _, c := range contacts[:n] {
		s.contact(c)
	}
}
