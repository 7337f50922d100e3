package matcher

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/psasync/adsync"
)

// Options configure the default matcher. The zero value (or nil) gives
// Autotask's rules with the default normalizer.
type Options struct {
	// Normalize turns a first, middle or last name into its comparison key
	// (R-MATCH-6). Two names match when their keys are equal; a key that is
	// empty counts as a blank name (R-MATCH-9). Nil means Normalize. It is
	// called once per name per run, from several goroutines at once: it
	// must be safe for concurrent use (a pure function is).
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

// run is the state of one Match call.
type run struct {
	m      *Matcher
	in     *adsync.MatchInput
	email  *index
	name   *index
	userE  []int32 // per user: email entry, or none
	userN  []int32 // per user: name entry, or none
	chosen []int32 // per user: the index in in.Contacts of the contact decided on, or none
	sink   uint64  // keeps index.touch's loads alive
}

// Match decides for every user of in.Users, in their order (see the package
// documentation for the rules). It does no I/O; it returns ctx's error if
// ctx is done, and an error if in.Users holds a nil user.
func (m *Matcher) Match(ctx context.Context, in adsync.MatchInput) ([]adsync.Decision, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := len(in.Users)
	for i, u := range in.Users {
		if u == nil {
			return nil, errors.New("matcher: MatchInput.Users[" + strconv.Itoa(i) + "] is nil")
		}
	}
	r := &run{m: m, in: &in, email: newIndex(n), name: newIndex(n),
		userE: make([]int32, n), userN: make([]int32, n), chosen: make([]int32, n)}
	r.indexUsers()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.indexLinked()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.indexContacts()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]adsync.Decision, n)
	for i := range in.Users {
		out[i] = r.decide(i)
	}
	r.resolveClaims(out, len(in.Contacts))
	return out, nil
}

// batch is how many users or contacts are looked up together (see
// index.touch).
const batch = 32

// indexUsers puts the users' email and name keys in the indexes.
func (r *run) indexUsers() {
	n := len(r.in.Users)
	ks := r.computeUserKeys()
	for b := 0; b < n; b += batch {
		end := min(b+batch, n)
		r.sink += r.email.touch(ks.email[b:end]) + r.name.touch(ks.name[b:end])
		for i := b; i < end; i++ {
			r.userE[i], r.userN[i], r.chosen[i] = none, none, none
			if ks.email[i].n != 0 {
				r.userE[i] = r.email.addUser(ks.email[i], i)
			}
			if ks.name[i].n != 0 {
				r.userN[i] = r.name.addUser(ks.name[i], i)
			}
		}
	}
}

// indexLinked records the linked users whose email some unlinked user has:
// linked users only count as duplicates of an unlinked user's email
// (R-CONF-1), so they are looked up, never inserted.
func (r *run) indexLinked() {
	if len(r.email.entries) == 0 {
		return
	}
	linked := r.in.Linked
	hits, _ := r.lookup(len(linked), func(i int) (*adsync.Values, bool) {
		if linked[i] == nil {
			return nil, false
		}
		return &linked[i].Values, false
	}, r.email, nil)
	for _, h := range hits {
		r.email.addLinked(h.e, int(h.i))
	}
}

// indexContacts puts the contacts under the keys of the indexes. Contacts
// are indexed only under keys that some user has, so a run with few
// unlinked users stays cheap however large the company.
func (r *run) indexContacts() {
	var email, name *index
	if len(r.email.entries) > 0 {
		email = r.email
	}
	if len(r.name.entries) > 0 {
		name = r.name
	}
	if email == nil && name == nil {
		return
	}
	contacts := r.in.Contacts
	eh, nh := r.lookup(len(contacts), func(i int) (*adsync.Values, bool) {
		if contacts[i] == nil {
			return nil, false
		}
		return &contacts[i].Values, contacts[i].Active
	}, email, name)
	for _, hs := range [...]struct {
		x    *index
		hits []hit
	}{{email, eh}, {name, nh}} {
		for _, h := range hs.hits {
			level := inactive
			if h.active {
				level = active
			}
			hs.x.addContact(h.e, int(h.i), level)
		}
	}
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
