package adsync

import (
	"cmp"
	"hash/maphash"
	"slices"
)

// Joining 400,000 users to 400,000 links by user id through a map costs a
// cache miss per insert and per lookup, most of a plan's time. Sorting
// 64-bit hashes of the ids and merging the two sorted lists reads memory in
// order instead; equal hashes are confirmed on the ids themselves.

type hashIdx struct {
	h uint64
	i int32
}

func hashIDs(seed maphash.Seed, n int, id func(int) string) []hashIdx {
	ks := make([]hashIdx, n)
	for i := range ks {
		ks[i] = hashIdx{maphash.String(seed, id(i)), int32(i)}
	}
	slices.SortFunc(ks, func(a, b hashIdx) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	return ks
}

// joinUsers returns, for each user, the index of its link (-1 for none),
// and the indexes of users that repeat an earlier user's id.
func joinUsers(users []*User, links []Link) (userLink []int32, dups []int32) {
	seed := maphash.MakeSeed()
	uk := hashIDs(seed, len(users), func(i int) string { return users[i].ID })
	lk := hashIDs(seed, len(links), func(i int) string { return links[i].UserID })
	userLink = make([]int32, len(users))
	for i := range userLink {
		userLink[i] = -1
	}
	j := 0
	for a := 0; a < len(uk); {
		// The users of one hash: almost always one.
		b := a + 1
		for b < len(uk) && uk[b].h == uk[a].h {
			b++
		}
		for j < len(lk) && lk[j].h < uk[a].h {
			j++
		}
		for x := a; x < b; x++ {
			u := users[uk[x].i]
			dup := false
			for y := a; y < x; y++ { // in index order: the first copy wins
				if users[uk[y].i].ID == u.ID {
					dup = true
					break
				}
			}
			if dup {
				dups = append(dups, uk[x].i)
				continue
			}
			for k := j; k < len(lk) && lk[k].h == uk[a].h; k++ {
				if links[lk[k].i].UserID == u.ID {
					userLink[uk[x].i] = lk[k].i
					break
				}
			}
		}
		a = b
	}
	slices.Sort(dups)
	return userLink, dups
}
