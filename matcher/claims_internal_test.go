package matcher

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/psasync/adsync"
)

// The default rules never let two claims of equal strength reach
// resolveClaims (equal emails and equal names are conflicts first), so the
// tie is driven directly.
func TestResolveClaims(t *testing.T) {
	users := []*adsync.User{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}
	contacts := []*adsync.Contact{{ID: 10, Active: true}, {ID: 11, Active: true}, {ID: 12}}
	tests := []struct {
		name   string
		chosen []int32
		rules  []string
		want   []string // per user: the final rule
		others [][]string
	}{
		{
			name:   "R-LINK-5 equal claims all become conflicts",
			chosen: []int32{0, 1, 0, 0, none},
			rules:  []string{"R-MATCH-3", "R-MATCH-3", "R-MATCH-4", "R-MATCH-3", "R-MATCH-5"},
			want:   []string{"R-LINK-5", "R-MATCH-3", "R-LINK-5", "R-LINK-5", "R-MATCH-5"},
			others: [][]string{{"c", "d"}, nil, {"a", "d"}, {"a", "c"}, nil},
		},
		{
			name:   "R-LINK-5 two email claims and a name claim: no unique strongest",
			chosen: []int32{2, 2, 2, none, 1},
			rules:  []string{"R-MATCH-1", "R-MATCH-2", "R-MATCH-3", "R-MATCH-5", "R-MATCH-1"},
			want:   []string{"R-LINK-5", "R-LINK-5", "R-LINK-5", "R-MATCH-5", "R-MATCH-1"},
			others: [][]string{{"b", "c"}, {"a", "c"}, {"a", "b"}, nil, nil},
		},
		{
			name:   "R-LINK-5 the unique email claim wins over two name claims",
			chosen: []int32{1, 1, none, 1, none},
			rules:  []string{"R-MATCH-3", "R-MATCH-2", "R-MATCH-5", "R-MATCH-4", "R-MATCH-5"},
			want:   []string{"R-LINK-5", "R-MATCH-2", "R-MATCH-5", "R-LINK-5", "R-MATCH-5"},
			others: [][]string{{"b"}, nil, nil, {"b"}, nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &run{in: &adsync.MatchInput{Users: users, Contacts: contacts}, chosen: append([]int32(nil), tt.chosen...)}
			out := make([]adsync.Decision, len(users))
			for i := range out {
				out[i] = adsync.Decision{UserID: users[i].ID, Action: adsync.ActionCreate, Rule: tt.rules[i]}
				if tt.chosen[i] != none {
					out[i].Action, out[i].ContactID = adsync.ActionLink, contacts[tt.chosen[i]].ID
				}
			}
			r.resolveClaims(out, len(contacts))
			for i, d := range out {
				assert.Equal(t, tt.want[i], d.Rule, "user %s", d.UserID)
				if tt.want[i] != "R-LINK-5" {
					assert.Nil(t, d.Conflict)
					continue
				}
				assert.Equal(t, adsync.ActionConflict, d.Action)
				assert.Zero(t, d.ContactID)
				assert.Equal(t, adsync.ConflictContactLinked, d.Conflict.Kind)
				assert.Equal(t, tt.others[i], d.Conflict.OtherUsers)
				assert.Equal(t, []int64{contacts[tt.chosen[i]].ID}, d.Conflict.Candidates)
				assert.Contains(t, d.Conflict.Detail, "R-LINK-5")
			}
		})
	}
}
