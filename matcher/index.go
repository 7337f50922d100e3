package matcher

import "hash/maphash"

// Contact candidate levels: the index into entry.contacts and entry.nContacts.
const (
	inactive = 0
	active   = 1
)

const none = -1

// entry gathers, for one email or name key, the users of in.Users that have
// it, and the contacts that have it, split active / inactive. Lists are
// chains through the index's arrays, so an entry allocates nothing.
type entry struct {
	keyOff, keyLen uint32 // the key: index.arenas[arena][keyOff:keyOff+keyLen]
	arena          int32
	users          int32 // number of users of in.Users with the key
	userHead       int32 // first of them (index into in.Users), chained by userNext
	linked         int32 // head of the in.Linked users with the key, chained in linked
	contacts       [2]int32
	nContacts      [2]int32
}

type link struct{ next, idx int32 }

// keyRef is a key in an arena, with its hash; n == 0 is no key (blank).
// arena says which of the index's arenas holds a user's key.
type keyRef struct {
	h      uint64
	off, n uint32
	arena  int32
}

// index is a hash index of one kind of key (email or name). Only users
// insert keys, so its size is known up front; contacts and linked users
// only look up. It is open addressing over one array of tagged slots rather
// than a Go map, and its lookups go in batches (see touch): at 400,000 keys
// every first touch of a slot or an entry is a cache miss, and a batch lets
// the processor wait for many of them at once instead of one after the
// other.
type index struct {
	seed     maphash.Seed
	slots    []uint64 // 0: empty; else hash tag << 32 | entry+1
	mask     uint64
	arenas   [][]byte // the users' keys, one arena per range of users
	entries  []entry
	userNext []int32 // chains users of one entry
	cands    []link  // chains contacts of one entry
	linked   []link  // chains linked users of one entry (email only)
}

func newIndex(n int) *index {
	size := 8
	for size < 2*n {
		size <<= 1
	}
	return &index{seed: maphash.MakeSeed(), slots: make([]uint64, size), mask: uint64(size - 1),
		entries: make([]entry, 0, n), userNext: make([]int32, n)}
}

// ref returns the keyRef of the key arena[at:], just appended.
func (x *index) ref(arena []byte, at int) keyRef {
	key := arena[at:]
	if len(key) == 0 {
		return keyRef{}
	}
	return keyRef{h: maphash.Bytes(x.seed, key), off: uint32(at), n: uint32(len(key))}
}

// find returns the entry of key k of arena, or none and the slot where it
// would go.
func (x *index) find(arena []byte, k keyRef) (int32, uint64) {
	key := arena[k.off : k.off+k.n]
	tag := uint32(k.h >> 32)
	for i := k.h & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s == 0 {
			return none, i
		}
		if uint32(s>>32) == tag {
			e := int32(uint32(s)) - 1
			en := &x.entries[e]
			if string(x.arenas[en.arena][en.keyOff:en.keyOff+en.keyLen]) == string(key) {
				return e, i
			}
		}
	}
}

// touch loads the first slot of each key, and the entry and key bytes it
// points to when its tag matches, so that the finds that follow hit the
// cache. The loads of different keys do not depend on each other, so they
// overlap. The caller keeps the sum somewhere, so that the loads stay.
func (x *index) touch(ks []keyRef) uint64 {
	var sum uint64
	for _, k := range ks {
		if k.n != 0 {
			sum += x.slots[k.h&x.mask]
		}
	}
	for _, k := range ks {
		if k.n == 0 {
			continue
		}
		if s := x.slots[k.h&x.mask]; s != 0 && uint32(s>>32) == uint32(k.h>>32) {
			en := &x.entries[uint32(s)-1]
			sum += uint64(x.arenas[en.arena][en.keyOff])
		}
	}
	return sum
}

// addUser records user i under key k of x.arenas.
func (x *index) addUser(k keyRef, i int) int32 {
	e, slot := x.find(x.arenas[k.arena], k)
	if e == none {
		e = int32(len(x.entries))
		x.slots[slot] = k.h&^(1<<32-1) | uint64(e+1)
		x.entries = append(x.entries, entry{keyOff: k.off, keyLen: k.n, arena: k.arena,
			userHead: none, linked: none, contacts: [2]int32{none, none}})
	}
	en := &x.entries[e]
	x.userNext[i] = en.userHead
	en.userHead = int32(i)
	en.users++
	return e
}

func (x *index) addContact(e int32, ci int, level int) {
	en := &x.entries[e]
	x.cands = append(x.cands, link{next: en.contacts[level], idx: int32(ci)})
	en.contacts[level] = int32(len(x.cands) - 1)
	en.nContacts[level]++
}

func (x *index) addLinked(e int32, li int) {
	en := &x.entries[e]
	x.linked = append(x.linked, link{next: en.linked, idx: int32(li)})
	en.linked = int32(len(x.linked) - 1)
}
