package matcher

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/psasync/adsync"
)

// Options configure the default matcher. The zero value (or nil) gives
// Autotask's rules with the default normalizer.
type Options struct {
	// Normalize turns a first, middle or last name into its comparison key
	// (R-MATCH-6). Two names match when their keys are equal; a key that is
	// empty counts as a blank name (R-MATCH-9). Nil means Normalize. It is
	// called from one goroutine at a time, once per name per run.
	Normalize func(string) string
}

// New returns the default Matcher: Autotask's matching rules R-MATCH-1..9,
// the conflict rules R-CONF-1..4, and R-LINK-5 within a run. opts may be
// nil.
func New(opts *Options) adsync.Matcher {
	m := &Matcher{}
	if opts != nil {
		m.normalize = opts.Normalize
	}
	return m
}

// Matcher is the default matcher; see New and the package documentation.
// It is stateless and safe for concurrent use.
type Matcher struct {
	normalize func(string) string // nil: the default, with its fast path
}

var _ adsync.Matcher = (*Matcher)(nil)

// Contact candidate levels: the index into entry.head and entry.n.
const (
	inactive = 0
	active   = 1
)

const none = -1

// entry gathers, for one email or name key, the users of in.Users that have
// it, and the contacts that have it, split active / inactive. Lists are
// chains through the index's arrays, so an entry allocates nothing.
type entry struct {
	keyOff, keyLen uint32 // the key: index.arena[keyOff:keyOff+keyLen]
	users          int32  // number of users of in.Users with the key
	userHead       int32  // first of them (index into in.Users), chained by userNext
	linked         int32  // head of the in.Linked users with the key, chained in linked
	contacts       [2]int32
	nContacts      [2]int32
}

type link struct{ next, idx int32 }

// index is a hash index of one kind of key (email or name). Only users
// insert keys, so its size is known up front; contacts only look up. It is
// open addressing over one array rather than a Go map: at 400,000 keys
// each lookup is a cache miss, and a map costs about twice as many, plus a
// second hash for an insert after a failed lookup.
type index struct {
	seed     maphash.Seed
	slots    []uint64 // 0: empty; else hash tag << 32 | entry+1
	mask     uint64
	arena    []byte
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
		arena: make([]byte, 0, 24*n), entries: make([]entry, 0, n), userNext: make([]int32, n)}
}

// find returns the entry of key, or none and the slot where it would go.
func (x *index) find(key []byte) (int32, uint64, uint32) {
	h := maphash.Bytes(x.seed, key)
	tag := uint32(h >> 32)
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s == 0 {
			return none, i, tag
		}
		if uint32(s>>32) == tag {
			e := int32(uint32(s)) - 1
			en := &x.entries[e]
			if string(x.arena[en.keyOff:en.keyOff+en.keyLen]) == string(key) {
				return e, i, tag
			}
		}
	}
}

// addUser records user i under key.
func (x *index) addUser(key []byte, i int) int32 {
	e, slot, tag := x.find(key)
	if e == none {
		e = int32(len(x.entries))
		x.slots[slot] = uint64(tag)<<32 | uint64(e+1)
		x.entries = append(x.entries, entry{keyOff: uint32(len(x.arena)), keyLen: uint32(len(key)),
			userHead: none, linked: none, contacts: [2]int32{none, none}})
		x.arena = append(x.arena, key...)
	}
	en := &x.entries[e]
	x.userNext[i] = en.userHead
	en.userHead = int32(i)
	en.users++
	return e
}

func (x *index) addContact(key []byte, ci int, level int) {
	e, _, _ := x.find(key)
	if e == none {
		return
	}
	en := &x.entries[e]
	x.cands = append(x.cands, link{next: en.contacts[level], idx: int32(ci)})
	en.contacts[level] = int32(len(x.cands) - 1)
	en.nContacts[level]++
}

func (x *index) addLinked(key []byte, li int) {
	e, _, _ := x.find(key)
	if e == none {
		return
	}
	en := &x.entries[e]
	x.linked = append(x.linked, link{next: en.linked, idx: int32(li)})
	en.linked = int32(len(x.linked) - 1)
}

// run is the state of one Match call.
type run struct {
	m      *Matcher
	in     *adsync.MatchInput
	email  *index
	name   *index
	userE  []int32 // per user: email entry, or none
	userN  []int32 // per user: name entry, or none
	buf    []byte
	scr    [3][]byte
	chosen []int32 // per user: the index in in.Contacts of the contact decided on, or none
}

// Match decides for every user of in.Users, in their order (see the package
// documentation for the rules). It does no I/O; it returns ctx's error if
// ctx is done, and an error if in.Users holds a nil user.
func (m *Matcher) Match(ctx context.Context, in adsync.MatchInput) ([]adsync.Decision, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := len(in.Users)
	r := &run{m: m, in: &in, email: newIndex(n), name: newIndex(n),
		userE: make([]int32, n), userN: make([]int32, n), chosen: make([]int32, n), buf: make([]byte, 0, 128)}
	for i := range r.scr {
		r.scr[i] = make([]byte, 0, 64)
	}
	for i, u := range in.Users {
		if u == nil {
			return nil, errors.New("matcher: MatchInput.Users[" + strconv.Itoa(i) + "] is nil")
		}
		r.userE[i], r.userN[i], r.chosen[i] = none, none, none
		if k := r.emailKey(u.Values[adsync.Email]); len(k) > 0 {
			r.userE[i] = r.email.addUser(k, i)
		}
		if k := r.nameKey(&u.Values); len(k) > 0 {
			r.userN[i] = r.name.addUser(k, i)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Linked users only count as duplicates of an unlinked user's email
	// (R-CONF-1): look them up, never insert them.
	if len(r.email.entries) > 0 {
		for li, u := range in.Linked {
			if u == nil {
				continue
			}
			if k := r.emailKey(u.Values[adsync.Email]); len(k) > 0 {
				r.email.addLinked(k, li)
			}
		}
	}
	// Contacts are indexed only under keys that some user has, so a run with
	// few unlinked users stays cheap however large the company.
	for ci, c := range in.Contacts {
		if c == nil {
			continue
		}
		level := inactive
		if c.Active {
			level = active
		}
		if len(r.email.entries) > 0 {
			if k := r.emailKey(c.Values[adsync.Email]); len(k) > 0 {
				r.email.addContact(k, ci, level)
			}
		}
		if len(r.name.entries) > 0 {
			if k := r.nameKey(&c.Values); len(k) > 0 {
				r.name.addContact(k, ci, level)
			}
		}
		if ci&0xffff == 0xffff {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	out := make([]adsync.Decision, n)
	for i := range in.Users {
		out[i] = r.decide(i)
	}
	r.resolveClaims(out, len(in.Contacts))
	return out, nil
}

// emailKey returns the comparison key of an email: trimmed and lower case
// (R-MATCH-1). It reuses r.buf: valid until the next call.
func (r *run) emailKey(s string) []byte {
	s = strings.TrimSpace(s)
	b := r.buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			b = append(b[:0], strings.ToLower(s)...)
			break
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	r.buf = b
	return b
}

// nameKey returns the name key of v: normalized first name, last name and
// the first character of the normalized middle (R-MATCH-3, R-MATCH-7), each
// length-prefixed so that no two names share a key. It returns nil when
// the first or the last name is blank after normalization (R-MATCH-9). It
// reuses r.buf: valid until the next call.
func (r *run) nameKey(v *adsync.Values) []byte {
	first := r.norm(0, v[adsync.FirstName])
	if len(first) == 0 {
		return nil
	}
	last := r.norm(1, v[adsync.LastName])
	if len(last) == 0 {
		return nil
	}
	mid := r.norm(2, v[adsync.MiddleInitial])
	if len(mid) > 0 {
		_, size := utf8.DecodeRune(mid)
		mid = mid[:size]
	}
	b := r.buf[:0]
	b = binary.AppendUvarint(b, uint64(len(first)))
	b = append(b, first...)
	b = binary.AppendUvarint(b, uint64(len(last)))
	b = append(b, last...)
	b = append(b, mid...)
	r.buf = b
	return b
}

// norm normalizes s into scratch buffer i.
func (r *run) norm(i int, s string) []byte {
	if r.m.normalize != nil {
		r.scr[i] = append(r.scr[i][:0], r.m.normalize(s)...)
	} else {
		r.scr[i] = appendNormalized(r.scr[i][:0], s)
	}
	return r.scr[i]
}

// decide applies R-CONF-1, R-MATCH-1..4, R-CONF-2..4 and R-MATCH-5 to user
// i, in that order.
func (r *run) decide(i int) adsync.Decision {
	u := r.in.Users[i]
	if e := r.userE[i]; e != none {
		en := &r.email.entries[e]
		if en.users > 1 || en.linked != none {
			others := r.otherUsers(i, r.email, en)
			return r.conflict(u, adsync.ConflictDuplicateEmail, others, nil, dupEmailDetail(u, others))
		}
		if d, ok := r.step(i, r.email, en, active, "R-MATCH-1"); ok {
			return d
		}
		if d, ok := r.step(i, r.email, en, inactive, "R-MATCH-2"); ok {
			return d
		}
	}
	if e := r.userN[i]; e != none {
		en := &r.name.entries[e]
		if en.users > 1 {
			others := r.otherUsers(i, r.name, en)
			return r.conflict(u, adsync.ConflictDuplicateName, others, nil, dupNameDetail(u, others, r.userE[i] != none))
		}
		if d, ok := r.step(i, r.name, en, active, "R-MATCH-3"); ok {
			return d
		}
		if d, ok := r.step(i, r.name, en, inactive, "R-MATCH-4"); ok {
			return d
		}
	}
	return adsync.Decision{UserID: u.ID, Action: adsync.ActionCreate, Rule: "R-MATCH-5"}
}

// step is one matching step for user i: the contacts of entry en at
// level. It decides when there is at least one candidate: a link on exactly
// one (unless it is linked to another user, R-CONF-4), a conflict on more
// (R-CONF-3).
func (r *run) step(i int, x *index, en *entry, level int, rule string) (adsync.Decision, bool) {
	u := r.in.Users[i]
	switch en.nContacts[level] {
	case 0:
		return adsync.Decision{}, false
	case 1:
		ci := x.cands[en.contacts[level]].idx
		c := r.in.Contacts[ci]
		if r.in.LinkedTo != nil {
			if other, ok := r.in.LinkedTo(c.ID); ok {
				return r.conflict(u, adsync.ConflictContactLinked, []string{other}, []int64{c.ID},
					linkedDetail(c, other, rule)), true
			}
		}
		act := adsync.ActionLink
		if level == inactive {
			act = adsync.ActionLinkReactivate
		}
		r.chosen[i] = ci
		return adsync.Decision{UserID: u.ID, Action: act, ContactID: c.ID, Rule: rule}, true
	}
	ids := make([]int64, 0, en.nContacts[level])
	for l := en.contacts[level]; l != none; l = x.cands[l].next {
		ids = append(ids, r.in.Contacts[x.cands[l].idx].ID)
	}
	slices.Sort(ids)
	return r.conflict(u, adsync.ConflictMultipleContacts, nil, ids, multipleDetail(u, ids, level, rule)), true
}

// otherUsers returns the ids of the users other than user i under entry en:
// unlinked ones, and for emails linked ones too (R-CONF-1), sorted.
func (r *run) otherUsers(i int, x *index, en *entry) []string {
	var ids []string
	for j := en.userHead; j != none; j = x.userNext[j] {
		if int(j) != i {
			ids = append(ids, r.in.Users[j].ID)
		}
	}
	for l := en.linked; l != none; l = x.linked[l].next {
		ids = append(ids, r.in.Linked[x.linked[l].idx].ID)
	}
	slices.Sort(ids)
	return ids
}

func (r *run) conflict(u *adsync.User, kind adsync.ConflictKind, others []string, candidates []int64, detail string) adsync.Decision {
	return adsync.Decision{UserID: u.ID, Action: adsync.ActionConflict, Rule: kind.Rule(),
		Conflict: &adsync.Conflict{UserID: u.ID, User: u.Label(), Kind: kind,
			OtherUsers: others, Candidates: candidates, Detail: detail}}
}
