package matcher

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/psasync/adsync"
)

// The texts below are built only for conflicts, never on the path of a user
// that links or is created.

const resolveHint = "resolve the conflict by mapping the user to a contact, creating a new contact, or ignoring the user."

func dupEmailDetail(u *adsync.User, others []string) string {
	return "the email " + strconv.Quote(strings.TrimSpace(u.Values[adsync.Email])) + " is also the email of " +
		countUsers(others) + " in scope (" + listIDs(others) + "), so the sync cannot tell which contact is whose (R-CONF-1); " +
		"nothing is linked or created for this user. Give each directory user its own email, or " + resolveHint
}

func dupNameDetail(u *adsync.User, others []string, hasEmail bool) string {
	s := "the name " + strconv.Quote(fullName(&u.Values)) + " is also the name of " + countUsers(others) +
		" not yet linked (" + listIDs(others) + ")"
	if hasEmail {
		s += ", and the user's email matches no contact"
	} else {
		s += ", and the user has no email"
	}
	return s + ", so matching by name would be a guess (R-CONF-2); nothing is linked or created for this user. " +
		"Give the user the email of its contact in the directory, or " + resolveHint
}

func multipleDetail(u *adsync.User, ids []int64, level int, rule string) string {
	s := strconv.Itoa(len(ids)) + " " + levelName(level) + " contacts (ids " + listContactIDs(ids) + ") have " + what(u, rule)
	if level == inactive {
		s = "no active contact matched and " + s
	}
	return s + ", so the user cannot be linked to one of them (R-CONF-3). Remove the duplicates in Autotask " +
		"(or give them distinct emails), or " + resolveHint
}

func linkedDetail(c *adsync.Contact, other, rule string) string {
	level := active
	if !c.Active {
		level = inactive
	}
	return "the only " + levelName(level) + " contact with " + whatOf(rule) + ", " + c.Label() +
		", is already linked to directory user " + strconv.Quote(other) +
		" and a contact is linked to at most one user (R-CONF-4). Check which user the contact belongs to; " + resolveHint
}

func claimDetail(c *adsync.Contact, winner string, winnerRule string, others []string) string {
	if winner != "" {
		return "contact " + c.Label() + " also matched directory user " + strconv.Quote(winner) + " by " +
			ruleKind(winnerRule) + " (" + winnerRule + "), which takes precedence over this user's match by name; " +
			"a contact is linked to at most one user (R-LINK-5). Check which user the contact belongs to; " + resolveHint
	}
	return "contact " + c.Label() + " matched this user and " + countUsers(others) + " (" + listIDs(others) +
		") by rules of equal strength; a contact is linked to at most one user (R-LINK-5), so none is linked. " +
		"Check which user the contact belongs to; " + resolveHint
}

func levelName(level int) string {
	if level == active {
		return "active"
	}
	return "inactive"
}

func isEmailRule(rule string) bool { return rule == "R-MATCH-1" || rule == "R-MATCH-2" }

func ruleKind(rule string) string {
	if isEmailRule(rule) {
		return "email"
	}
	return "name"
}

func what(u *adsync.User, rule string) string {
	if isEmailRule(rule) {
		return "the email " + strconv.Quote(strings.TrimSpace(u.Values[adsync.Email]))
	}
	return "the name " + strconv.Quote(fullName(&u.Values))
}

func whatOf(rule string) string {
	if isEmailRule(rule) {
		return "that email"
	}
	return "that name"
}

func fullName(v *adsync.Values) string {
	var parts []string
	for _, f := range [...]adsync.Field{adsync.FirstName, adsync.MiddleInitial, adsync.LastName} {
		if s := strings.TrimSpace(v[f]); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

func countUsers(ids []string) string {
	if len(ids) == 1 {
		return "1 other user"
	}
	return strconv.Itoa(len(ids)) + " other users"
}

// maxListed bounds the ids spelled out in a detail; OtherUsers and
// Candidates hold them all.
const maxListed = 5

func listIDs(ids []string) string {
	n := min(len(ids), maxListed)
	s := strings.Join(ids[:n], ", ")
	if len(ids) > n {
		s += " and " + strconv.Itoa(len(ids)-n) + " more"
	}
	return s
}

func listContactIDs(ids []int64) string {
	strs := make([]string, 0, maxListed)
	for _, id := range ids[:min(len(ids), maxListed)] {
		strs = append(strs, strconv.FormatInt(id, 10))
	}
	s := strings.Join(strs, ", ")
	if len(ids) > maxListed {
		s += " and " + strconv.Itoa(len(ids)-maxListed) + " more"
	}
	return s
}

// resolveClaims enforces R-LINK-5 within one run: no two decisions may name
// the same contact. Within the default rules two users can only claim one
// contact when one matched it by email and the other by name (equal emails
// or equal names are already conflicts, R-CONF-1 and R-CONF-2); the claim
// of the stronger rule (email over name) wins when exactly one claimant has
// it, and every other claimant gets a ConflictContactLinked with rule
// "R-LINK-5". With no unique strongest claimant, every claimant gets one.
func (r *run) resolveClaims(out []adsync.Decision, nContacts int) {
	type pair struct{ c, i int32 }
	var claimedBy []int32 // per contact: claimant+1; negated once it clashes
	var pairs []pair
	for i, ci := range r.chosen {
		if ci == none {
			continue
		}
		if claimedBy == nil {
			claimedBy = make([]int32, nContacts)
		}
		switch first := claimedBy[ci]; {
		case first == 0:
			claimedBy[ci] = int32(i) + 1
		case first > 0:
			pairs = append(pairs, pair{ci, first - 1}, pair{ci, int32(i)})
			claimedBy[ci] = -first
		default:
			pairs = append(pairs, pair{ci, int32(i)})
		}
	}
	if len(pairs) == 0 {
		return
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Or(cmp.Compare(a.c, b.c), cmp.Compare(a.i, b.i)) })
	for len(pairs) > 0 {
		n := 1
		for n < len(pairs) && pairs[n].c == pairs[0].c {
			n++
		}
		group := pairs[:n]
		pairs = pairs[n:]
		c := r.in.Contacts[group[0].c]
		winner, strong := int32(none), 0
		for _, p := range group {
			if isEmailRule(out[p.i].Rule) {
				winner = p.i
				strong++
			}
		}
		if strong != 1 {
			winner = none
		}
		for _, p := range group {
			if p.i == winner {
				continue
			}
			u := r.in.Users[p.i]
			var others []string
			var detail string
			if winner != none {
				w := out[winner]
				others = []string{w.UserID}
				detail = claimDetail(c, w.UserID, w.Rule, nil)
			} else {
				for _, q := range group {
					if q.i != p.i {
						others = append(others, r.in.Users[q.i].ID)
					}
				}
				slices.Sort(others)
				detail = claimDetail(c, "", "", others)
			}
			d := r.conflict(u, adsync.ConflictContactLinked, others, []int64{c.ID}, detail)
			d.Rule = "R-LINK-5"
			out[p.i] = d
			r.chosen[p.i] = none
		}
	}
}
