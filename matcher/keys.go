package matcher

import (
	"encoding/binary"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/psasync/adsync"
)

// keyer computes comparison keys, appending them to an arena.
type keyer struct {
	normalize func(string) string // nil: the default, with its fast path
	mid       []byte              // scratch for the middle name
}

func newKeyer(normalize func(string) string) *keyer {
	return &keyer{normalize: normalize, mid: make([]byte, 0, 64)}
}

// appendEmailKey appends the comparison key of an email to dst: trimmed and
// lower case (R-MATCH-1).
func (k *keyer) appendEmailKey(dst []byte, s string) []byte {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(dst, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendNameKey appends the name key of v to dst: the normalized first
// name, last name and first character of the normalized middle (R-MATCH-3,
// R-MATCH-7), the names length-prefixed so that no two names share a key.
// It appends nothing when the first or the last name is blank after
// normalization (R-MATCH-9).
func (k *keyer) appendNameKey(dst []byte, v *adsync.Values) []byte {
	start := len(dst)
	for _, f := range [...]adsync.Field{adsync.FirstName, adsync.LastName} {
		var ok bool
		if dst, ok = k.appendPrefixed(dst, v[f]); !ok {
			return dst[:start]
		}
	}
	if v[adsync.MiddleInitial] != "" {
		k.mid = k.appendNorm(k.mid[:0], v[adsync.MiddleInitial])
		if len(k.mid) > 0 {
			_, size := utf8.DecodeRune(k.mid)
			dst = append(dst, k.mid[:size]...)
		}
	}
	return dst
}

// appendPrefixed appends the normalized s with its length as a uvarint
// before it; ok is false when it normalizes to nothing.
func (k *keyer) appendPrefixed(dst []byte, s string) ([]byte, bool) {
	at := len(dst)
	dst = append(dst, 0) // room for a length below 128, the usual case
	dst = k.appendNorm(dst, s)
	n := len(dst) - at - 1
	switch {
	case n == 0:
		return dst[:at], false
	case n < 0x80:
		dst[at] = byte(n)
		return dst, true
	}
	var pre [binary.MaxVarintLen64]byte
	p := binary.PutUvarint(pre[:], uint64(n))
	dst = append(dst, pre[1:p]...) // grow by the extra prefix bytes
	copy(dst[at+p:], dst[at+1:at+1+n])
	copy(dst[at:], pre[:p])
	return dst, true
}

func (k *keyer) appendNorm(dst []byte, s string) []byte {
	if k.normalize != nil {
		return append(dst, k.normalize(s)...)
	}
	return appendNormalized(dst, s)
}

// userKeys are the email and name keys of the users: refs into the
// indexes' arenas.
type userKeys struct {
	email, name []keyRef
}

// minParallel is the list length from which keys are computed on several
// cores: below it, starting goroutines costs more than it saves.
const minParallel = 8192

// split calls work on ranges that cover [0, n), in parallel when n is large
// enough: computing keys (normalization, hashing) is the bulk of a match's
// work, and each user's or contact's keys are independent. It returns the
// number of ranges; range w is [n*w/parts, n*(w+1)/parts). A panic in a
// range (a custom normalizer's, say) is raised again in the caller's
// goroutine, as it would be without the split.
func split(n int, work func(w, lo, hi int)) int {
	parts := min(runtime.GOMAXPROCS(0), 8)
	if n < minParallel || parts < 2 {
		work(0, 0, n)
		return 1
	}
	var wg sync.WaitGroup
	panics := make([]any, parts)
	for w := range parts {
		wg.Go(func() {
			defer func() { panics[w] = recover() }()
			work(w, n*w/parts, n*(w+1)/parts)
		})
	}
	wg.Wait()
	for _, p := range panics {
		if p != nil {
			panic(p)
		}
	}
	return parts
}

// computeUserKeys computes the keys of every user, in parallel, into one
// arena per range of users; the arenas become the indexes'.
func (r *run) computeUserKeys() userKeys {
	users := r.in.Users
	n := len(users)
	ks := userKeys{email: make([]keyRef, n), name: make([]keyRef, n)}
	var ea, na [8][]byte
	nparts := split(n, func(w, lo, hi int) {
		k := newKeyer(r.m.normalize)
		ea[w] = make([]byte, 0, 24*(hi-lo))
		na[w] = make([]byte, 0, 24*(hi-lo))
		for i := lo; i < hi; i++ {
			at := len(ea[w])
			ea[w] = k.appendEmailKey(ea[w], users[i].Values[adsync.Email])
			ks.email[i] = r.email.ref(ea[w], at)
			ks.email[i].arena = int32(w)
			at = len(na[w])
			na[w] = k.appendNameKey(na[w], &users[i].Values)
			ks.name[i] = r.name.ref(na[w], at)
			ks.name[i].arena = int32(w)
		}
	})
	r.email.arenas, r.name.arenas = ea[:nparts], na[:nparts]
	return ks
}

// hit is a contact or linked user i found under entry e of an index.
type hit struct {
	i, e   int32
	active bool
}

// lookup looks up the email keys (when email is not nil) and name keys
// (when name is not nil) of n values, in parallel, and returns the hits in
// the order of the values. values(i) is nil for a value to skip. Lookups
// only read the indexes, so the ranges need no locking; keys live in small
// per-batch arenas, so a large list with few hits costs little memory.
func (r *run) lookup(n int, values func(i int) (v *adsync.Values, active bool), email, name *index) (eh, nh []hit) {
	type result struct {
		eh, nh []hit
		sink   uint64
	}
	var parts [8]result
	nparts := split(n, func(w, lo, hi int) {
		k := newKeyer(r.m.normalize)
		p := &parts[w]
		var eks, nks [batch]keyRef
		var act [batch]bool
		ea, na := make([]byte, 0, 64*batch), make([]byte, 0, 64*batch)
		for b := lo; b < hi; b += batch {
			end := min(b+batch, hi)
			ea, na = ea[:0], na[:0]
			for i := b; i < end; i++ {
				j := i - b
				eks[j], nks[j] = keyRef{}, keyRef{}
				v, active := values(i)
				if v == nil {
					continue
				}
				act[j] = active
				if email != nil {
					at := len(ea)
					ea = k.appendEmailKey(ea, v[adsync.Email])
					eks[j] = email.ref(ea, at)
				}
				if name != nil {
					at := len(na)
					na = k.appendNameKey(na, v)
					nks[j] = name.ref(na, at)
				}
			}
			m := end - b
			if email != nil {
				p.sink += email.touch(eks[:m])
				for j, kr := range eks[:m] {
					if kr.n == 0 {
						continue
					}
					if e, _ := email.find(ea, kr); e != none {
						p.eh = append(p.eh, hit{i: int32(b + j), e: e, active: act[j]})
					}
				}
			}
			if name != nil {
				p.sink += name.touch(nks[:m])
				for j, kr := range nks[:m] {
					if kr.n == 0 {
						continue
					}
					if e, _ := name.find(na, kr); e != none {
						p.nh = append(p.nh, hit{i: int32(b + j), e: e, active: act[j]})
					}
				}
			}
		}
	})
	for _, p := range parts[:nparts] {
		r.sink += p.sink
	}
	if nparts == 1 {
		return parts[0].eh, parts[0].nh
	}
	for _, p := range parts[:nparts] {
		eh = append(eh, p.eh...)
		nh = append(nh, p.nh...)
	}
	return eh, nh
}
