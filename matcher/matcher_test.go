package matcher_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/matcher"
)

// user returns a directory user; name is "First Middle Last" with "_" for
// a blank part.
func user(id, name, email string) *adsync.User {
	u := &adsync.User{ID: id, Enabled: true}
	setName(&u.Values, name)
	u.Values[adsync.Email] = email
	return u
}

func contact(id int64, active bool, name, email string) *adsync.Contact {
	c := &adsync.Contact{ID: id, CompanyID: 1, Active: active}
	setName(&c.Values, name)
	c.Values[adsync.Email] = email
	return c
}

func setName(v *adsync.Values, name string) {
	parts := strings.Split(name, " ")
	for len(parts) < 3 {
		parts = append(parts, "_")
	}
	for i, f := range []adsync.Field{adsync.FirstName, adsync.MiddleInitial, adsync.LastName} {
		if parts[i] != "_" {
			v[f] = strings.ReplaceAll(parts[i], "+", " ")
		}
	}
}

// want is the expected decision for one user.
type want struct {
	action     adsync.Action
	contact    int64
	rule       string
	others     []string // conflicts only
	candidates []int64  // conflicts only
}

func link(c int64, rule string) want { return want{action: adsync.ActionLink, contact: c, rule: rule} }
func reactivate(c int64, rule string) want {
	return want{action: adsync.ActionLinkReactivate, contact: c, rule: rule}
}
func create() want { return want{action: adsync.ActionCreate, rule: "R-MATCH-5"} }
func conflict(rule string, others []string, candidates ...int64) want {
	return want{action: adsync.ActionConflict, rule: rule, others: others, candidates: candidates}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name     string
		users    []*adsync.User
		linked   []*adsync.User
		contacts []*adsync.Contact
		linkedTo map[int64]string
		want     []want // one per user, in order
	}{
		{
			name:     "R-MATCH-1 email on active contact links",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Someone _ Else", "bob@example.com"), contact(11, true, "Al _ Jones", "alice@example.com")},
			want:     []want{link(11, "R-MATCH-1")},
		},
		{
			name:     "R-MATCH-1 email compared case-insensitively after trimming",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "  Alice@Example.COM ")},
			contacts: []*adsync.Contact{contact(11, true, "Al _ J", "alice@EXAMPLE.com\t")},
			want:     []want{link(11, "R-MATCH-1")},
		},
		{
			name:     "R-MATCH-1 non-ASCII email compared case-insensitively",
			users:    []*adsync.User{user("u1", "Jörg _ Ölz", "JÖRG@example.de")},
			contacts: []*adsync.Contact{contact(11, true, "J _ O", "jörg@example.de")},
			want:     []want{link(11, "R-MATCH-1")},
		},
		{
			name:     "R-MATCH-1 active email match wins over an inactive one and over names",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(10, false, "A _ J", "alice@example.com"), contact(11, true, "Other _ Name", "alice@example.com"), contact(12, true, "Alice _ Jones", "")},
			want:     []want{link(11, "R-MATCH-1")},
		},
		{
			name:     "R-MATCH-2 email on inactive contact reactivates",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(10, false, "A _ J", "ALICE@example.com"), contact(11, true, "Bob _ B", "bob@example.com")},
			want:     []want{reactivate(10, "R-MATCH-2")},
		},
		{
			name:     "R-MATCH-2 inactive email match wins over an active name match",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(10, false, "A _ J", "alice@example.com"), contact(11, true, "Alice _ Jones", "other@example.com")},
			want:     []want{reactivate(10, "R-MATCH-2")},
		},
		{
			name:     "R-MATCH-3 name on active contact when the email matches nothing",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", "a.jones@old.example.com"), contact(11, true, "Alice _ Smith", "")},
			want:     []want{link(10, "R-MATCH-3")},
		},
		{
			name:     "R-MATCH-3 name with middle initial on both sides",
			users:    []*adsync.User{user("u1", "Alice Beth Jones", "")},
			contacts: []*adsync.Contact{contact(10, true, "Alice C Jones", ""), contact(11, true, "Alice B. Jones", ""), contact(12, true, "Alice _ Jones", "")},
			want:     []want{link(11, "R-MATCH-3")},
		},
		{
			name:     "R-MATCH-3 active name match wins over an inactive one",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "")},
			contacts: []*adsync.Contact{contact(10, false, "Alice _ Jones", ""), contact(11, true, "alice _ JONES", "")},
			want:     []want{link(11, "R-MATCH-3")},
		},
		{
			name:     "R-MATCH-4 name on inactive contact reactivates",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(10, false, "Alice _ Jones", ""), contact(11, true, "Alice _ Jonas", "")},
			want:     []want{reactivate(10, "R-MATCH-4")},
		},
		{
			name:     "R-MATCH-5 no match on email or name creates",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jonas", "alice@example.org"), contact(11, false, "Alicia _ Jones", "")},
			want:     []want{create()},
		},
		{
			name:  "R-MATCH-5 no contacts at all creates",
			users: []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com"), user("u2", "_ _ _", "")},
			want:  []want{create(), create()},
		},
		{
			name:     "R-MATCH-6 names are normalized: apostrophe, hyphen, space, case, diacritics",
			users:    []*adsync.User{user("u1", "Mary-Jane _ O'Brien", ""), user("u2", "José _ Müller", ""), user("u3", "Ann+Marie _ Lee", "")},
			contacts: []*adsync.Contact{contact(10, true, "Mary+Jane _ OBRIEN", ""), contact(11, true, "Jose _ Muller", ""), contact(12, true, "annmarie _ Lee", "")},
			want:     []want{link(10, "R-MATCH-3"), link(11, "R-MATCH-3"), link(12, "R-MATCH-3")},
		},
		{
			name:     "R-MATCH-6 non-Latin names keep their letters",
			users:    []*adsync.User{user("u1", "Дмитрий _ Иванов", ""), user("u2", "小龍 _ 李", "")},
			contacts: []*adsync.Contact{contact(10, true, "ДМИТРИЙ _ Иванов", ""), contact(11, true, "Дмитрий _ Петров", ""), contact(12, true, "小龍 _ 李", "")},
			want:     []want{link(10, "R-MATCH-3"), link(12, "R-MATCH-3")},
		},
		{
			name:     "R-MATCH-6 very long names match, and a longer one does not",
			users:    []*adsync.User{user("u1", strings.Repeat("Ab", 100)+" _ "+strings.Repeat("Ü", 130), ""), user("u2", strings.Repeat("Ab", 101)+" _ Ü", "")},
			contacts: []*adsync.Contact{contact(10, true, strings.Repeat("ab", 100)+" _ "+strings.Repeat("u", 130), ""), contact(11, true, strings.Repeat("Ab", 100)+" _ Üu", "")},
			want:     []want{link(10, "R-MATCH-3"), create()},
		},
		{
			name:     "R-MATCH-7 middle compared by first normalized character",
			users:    []*adsync.User{user("u1", "Alice j.r. Jones", "")},
			contacts: []*adsync.Contact{contact(10, true, "Alice James Jones", "")},
			want:     []want{link(10, "R-MATCH-3")},
		},
		{
			name:     "R-MATCH-7 middle blank on the directory side only does not match by name",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "")},
			contacts: []*adsync.Contact{contact(10, true, "Alice B Jones", "")},
			want:     []want{create()},
		},
		{
			name:     "R-MATCH-7 middle blank on the contact side only does not match by name",
			users:    []*adsync.User{user("u1", "Alice B Jones", "")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", ""), contact(11, false, "Alice _ Jones", "")},
			want:     []want{create()},
		},
		{
			name:     "R-MATCH-7 different middle initials do not match",
			users:    []*adsync.User{user("u1", "Alice B Jones", "")},
			contacts: []*adsync.Contact{contact(10, true, "Alice C Jones", "")},
			want:     []want{create()},
		},
		{
			name:     "R-MATCH-7 a middle of punctuation only counts as blank",
			users:    []*adsync.User{user("u1", "Alice . Jones", "")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", "")},
			want:     []want{link(10, "R-MATCH-3")},
		},
		{
			name:     "R-MATCH-8 only the email in Values counts, not the UPN",
			users:    []*adsync.User{{ID: "u1", UPN: "alice@example.com", Values: adsync.Values{adsync.FirstName: "Alice", adsync.LastName: "Jones"}}},
			contacts: []*adsync.Contact{contact(10, true, "Other _ Person", "alice@example.com")},
			want:     []want{create()},
		},
		{
			name:     "R-MATCH-8 the UPN fallback the Syncer put in Values is matched",
			users:    []*adsync.User{{ID: "u1", UPN: "alice@example.com", Values: adsync.Values{adsync.FirstName: "Alice", adsync.LastName: "Jones", adsync.Email: "alice@example.com"}}},
			contacts: []*adsync.Contact{contact(10, true, "Other _ Person", "alice@example.com")},
			want:     []want{link(10, "R-MATCH-1")},
		},
		{
			name:     "R-MATCH-9 blank email skips the email steps: blank never equals blank",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "  ")},
			contacts: []*adsync.Contact{contact(10, true, "Bob _ Brown", ""), contact(11, false, "Carol _ White", " ")},
			want:     []want{create()},
		},
		{
			name:     "R-MATCH-9 blank first name skips the name steps",
			users:    []*adsync.User{user("u1", "_ _ Jones", "")},
			contacts: []*adsync.Contact{contact(10, true, "_ _ Jones", "")},
			want:     []want{create()},
		},
		{
			name:     "R-MATCH-9 blank last name skips the name steps",
			users:    []*adsync.User{user("u1", "Alice _ _", "")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ _", "")},
			want:     []want{create()},
		},
		{
			name:     "R-MATCH-9 a first name of punctuation only counts as blank",
			users:    []*adsync.User{user("u1", "-- _ Jones", "")},
			contacts: []*adsync.Contact{contact(10, true, "'' _ Jones", "")},
			want:     []want{create()},
		},
		{
			name:     "R-MATCH-9 blank first name still matches by email",
			users:    []*adsync.User{user("u1", "_ _ Jones", "jones@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Al _ Jones", "jones@example.com")},
			want:     []want{link(10, "R-MATCH-1")},
		},
		{
			name:  "R-CONF-1 duplicate email among unlinked users blocks email matching",
			users: []*adsync.User{user("u1", "Alice _ Jones", "shared@example.com"), user("u2", "Bob _ Brown", "Shared@Example.com ")},
			contacts: []*adsync.Contact{
				contact(10, true, "Alice _ Jones", "shared@example.com"),
			},
			want: []want{conflict("R-CONF-1", []string{"u2"}), conflict("R-CONF-1", []string{"u1"})},
		},
		{
			name:     "R-CONF-1 duplicate email blocks name matching and creation",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "shared@example.com"), user("u2", "Bob _ Brown", "shared@example.com"), user("u3", "Carol _ White", "shared@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", "")},
			want: []want{
				conflict("R-CONF-1", []string{"u2", "u3"}),
				conflict("R-CONF-1", []string{"u1", "u3"}),
				conflict("R-CONF-1", []string{"u1", "u2"}),
			},
		},
		{
			name:     "R-CONF-1 a linked user's email counts as a duplicate",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com"), user("u2", "Bob _ Brown", "bob@example.com")},
			linked:   []*adsync.User{user("l1", "Alice _ Jones", "ALICE@example.com"), user("l2", "Dave _ Green", "dave@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", "alice@example.com")},
			linkedTo: map[int64]string{10: "l1"},
			want:     []want{conflict("R-CONF-1", []string{"l1"}), create()},
		},
		{
			name:     "R-CONF-2 duplicate name among unlinked users blocks name matching and creation",
			users:    []*adsync.User{user("u1", "Alice _ Jones", ""), user("u2", "ALICE _ JONES", "alice2@example.com"), user("u3", "Alice _ Jones", "x@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", "")},
			want: []want{
				conflict("R-CONF-2", []string{"u2", "u3"}),
				conflict("R-CONF-2", []string{"u1", "u3"}),
				conflict("R-CONF-2", []string{"u1", "u2"}),
			},
		},
		{
			name:     "R-CONF-2 a single email match still links a user with a duplicate name",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice1@example.com"), user("u2", "Alice _ Jones", "alice2@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", "alice1@example.com"), contact(11, false, "Alice _ Jones", "ALICE2@example.com")},
			want:     []want{link(10, "R-MATCH-1"), reactivate(11, "R-MATCH-2")},
		},
		{
			name:     "R-CONF-2 linked users' names do not count",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "")},
			linked:   []*adsync.User{user("l1", "Alice _ Jones", "other@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", "")},
			want:     []want{link(10, "R-MATCH-3")},
		},
		{
			name:     "R-CONF-2 different middle initials are different names",
			users:    []*adsync.User{user("u1", "Alice B Jones", ""), user("u2", "Alice C Jones", "")},
			contacts: []*adsync.Contact{contact(10, true, "Alice B Jones", "")},
			want:     []want{link(10, "R-MATCH-3"), create()},
		},
		{
			name:     "R-CONF-3 two active contacts with the email: conflict, no fall-through to the name",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(12, true, "A _ J", "alice@example.com"), contact(10, true, "B _ J", "Alice@example.com"), contact(11, true, "Alice _ Jones", "")},
			want:     []want{conflict("R-CONF-3", nil, 10, 12)},
		},
		{
			name:     "R-CONF-3 two inactive contacts with the email and no active one",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(10, false, "A _ J", "alice@example.com"), contact(11, false, "B _ J", "alice@example.com"), contact(12, false, "Alice _ Jones", "")},
			want:     []want{conflict("R-CONF-3", nil, 10, 11)},
		},
		{
			name:     "R-CONF-3 two active contacts with the name: conflict, no fall-through to create",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", "a@example.com"), contact(11, true, "alice _ jones", "b@example.com"), contact(12, false, "Alice _ Jones", "")},
			want:     []want{conflict("R-CONF-3", nil, 10, 11)},
		},
		{
			name:     "R-CONF-3 two inactive contacts with the name",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "")},
			contacts: []*adsync.Contact{contact(10, false, "Alice _ Jones", ""), contact(11, false, "Alice _ Jones", ""), contact(12, false, "Alice _ Jones", "")},
			want:     []want{conflict("R-CONF-3", nil, 10, 11, 12)},
		},
		{
			name:     "R-CONF-4 the single email candidate is linked to another user",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", "alice@example.com")},
			linkedTo: map[int64]string{10: "gone-user"},
			want:     []want{conflict("R-CONF-4", []string{"gone-user"}, 10)},
		},
		{
			name:     "R-CONF-4 the single name candidate is linked to another user",
			users:    []*adsync.User{user("u1", "Alice _ Jones", "")},
			contacts: []*adsync.Contact{contact(10, false, "Alice _ Jones", "")},
			linkedTo: map[int64]string{10: "l9"},
			want:     []want{conflict("R-CONF-4", []string{"l9"}, 10)},
		},
		{
			name:     "R-LINK-5 a contact matched by one user's email and another's name goes to the email match",
			users:    []*adsync.User{user("u1", "Alice _ Jones", ""), user("u2", "Alicia _ Jones", "alice@example.com")},
			contacts: []*adsync.Contact{contact(10, true, "Alice _ Jones", "alice@example.com")},
			want:     []want{conflict("R-LINK-5", []string{"u2"}, 10), link(10, "R-MATCH-1")},
		},
		{
			name:     "R-LINK-5 an inactive contact claimed by email reactivation and by name",
			users:    []*adsync.User{user("u1", "Bob _ Brown", "bob@example.com"), user("u2", "Robert _ Brown", "")},
			contacts: []*adsync.Contact{contact(10, false, "Robert _ Brown", "bob@example.com")},
			want:     []want{reactivate(10, "R-MATCH-2"), conflict("R-LINK-5", []string{"u1"}, 10)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := adsync.MatchInput{Users: tt.users, Linked: tt.linked, Contacts: tt.contacts}
			if tt.linkedTo != nil {
				in.LinkedTo = func(id int64) (string, bool) { u, ok := tt.linkedTo[id]; return u, ok }
			}
			got, err := matcher.New(nil).Match(context.Background(), in)
			require.NoError(t, err)
			require.Len(t, got, len(tt.users), "one decision per user")
			for i, w := range tt.want {
				d := got[i]
				u := tt.users[i]
				assert.Equal(t, u.ID, d.UserID, "decision %d is for user %d", i, i)
				assert.Equal(t, w.action, d.Action, "user %s: %+v", u.ID, d.Conflict)
				assert.Equal(t, w.rule, d.Rule, "user %s", u.ID)
				if w.action != adsync.ActionConflict {
					assert.Equal(t, w.contact, d.ContactID, "user %s", u.ID)
					assert.Nil(t, d.Conflict, "user %s", u.ID)
					continue
				}
				assert.Zero(t, d.ContactID, "user %s: a conflict names no contact to link", u.ID)
				require.NotNil(t, d.Conflict, "user %s", u.ID)
				c := d.Conflict
				assert.Equal(t, u.ID, c.UserID)
				assert.Equal(t, u.Label(), c.User)
				assert.True(t, c.Kind.Valid(), "kind %q", c.Kind)
				if w.rule != "R-LINK-5" {
					assert.Equal(t, w.rule, c.Kind.Rule())
				} else {
					assert.Equal(t, adsync.ConflictContactLinked, c.Kind)
				}
				assert.Equal(t, w.others, c.OtherUsers, "other users")
				assert.Equal(t, w.candidates, c.Candidates, "candidates")
				assert.NotEmpty(t, c.Detail)
				assert.Contains(t, c.Detail, w.rule, "the detail names the rule")
			}
		})
	}
}

// TestConflictDetails checks that a conflict's text tells the admin what
// clashes with what.
func TestConflictDetails(t *testing.T) {
	users := []*adsync.User{
		user("u1", "Alice _ Jones", "shared@example.com"), user("u2", "Bob _ Brown", "shared@example.com"),
		user("u3", "Carol _ White", ""), user("u4", "Carol _ White", ""),
		user("u5", "Dan _ Black", "dan@example.com"),
		user("u6", "Eve _ Grey", "eve@example.com"),
	}
	contacts := []*adsync.Contact{
		contact(20, true, "D _ B", "dan@example.com"), contact(21, true, "D _ B", "dan@example.com"),
		contact(30, true, "Eve _ Grey", "eve@example.com"),
	}
	got, err := matcher.New(nil).Match(context.Background(), adsync.MatchInput{Users: users, Contacts: contacts,
		LinkedTo: func(id int64) (string, bool) { return "someone-else", id == 30 }})
	require.NoError(t, err)
	assert.Contains(t, got[0].Conflict.Detail, `"shared@example.com"`)
	assert.Contains(t, got[0].Conflict.Detail, "u2")
	assert.Contains(t, got[2].Conflict.Detail, `"Carol White"`)
	assert.Contains(t, got[2].Conflict.Detail, "u4")
	assert.Contains(t, got[4].Conflict.Detail, "20, 21")
	assert.Contains(t, got[4].Conflict.Detail, `"dan@example.com"`)
	assert.Contains(t, got[5].Conflict.Detail, `"someone-else"`)
	assert.Contains(t, got[5].Conflict.Detail, "contact 30")
	for _, d := range got {
		assert.Contains(t, d.Conflict.Detail, "resolve the conflict", "every detail says what to do")
	}
}

func TestMatchCustomNormalizer(t *testing.T) {
	// A normalizer that knows nicknames: "Bill" is "William".
	nick := func(s string) string {
		n := matcher.Normalize(s)
		if n == "bill" {
			return "william"
		}
		return n
	}
	users := []*adsync.User{user("u1", "Bill _ Gates", "")}
	contacts := []*adsync.Contact{contact(10, true, "William _ Gates", "")}

	got, err := matcher.New(&matcher.Options{Normalize: nick}).Match(context.Background(), adsync.MatchInput{Users: users, Contacts: contacts})
	require.NoError(t, err)
	assert.Equal(t, adsync.ActionLink, got[0].Action)
	assert.Equal(t, int64(10), got[0].ContactID)

	got, err = matcher.New(nil).Match(context.Background(), adsync.MatchInput{Users: users, Contacts: contacts})
	require.NoError(t, err)
	assert.Equal(t, adsync.ActionCreate, got[0].Action, "the default normalizer knows no nicknames")

	// A normalizer that maps everything to "" makes every name blank (R-MATCH-9).
	blank := func(string) string { return "" }
	got, err = matcher.New(&matcher.Options{Normalize: blank}).Match(context.Background(),
		adsync.MatchInput{Users: []*adsync.User{user("u1", "William _ Gates", "")}, Contacts: contacts})
	require.NoError(t, err)
	assert.Equal(t, adsync.ActionCreate, got[0].Action)
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"O'Brien", "obrien"},
		{"O’Brien", "obrien"},
		{"Mary-Jane", "maryjane"},
		{"Mary Jane", "maryjane"},
		{"José", "jose"},
		{"Jose\u0301", "jose"}, // already decomposed
		{"Müller", "muller"},
		{"Ångström", "angstrom"},
		{"Straße", "strasse"},
		{"ŁUKASZ", "łukasz"}, // Ł has no decomposition: it stays a letter
		{"Ｆｕｌｌｗｉｄｔｈ", "fullwidth"},
		{"ﬁona", "fiona"},
		{"Дмитрий", "дмитрии"},
		{"ΣΊΣΥΦΟΣ", "σισυφοσ"},
		{"李小龍", "李小龍"},
		{"محمد", "محمد"},
		{"  Ann\tMarie \n", "annmarie"},
		{"Henry 8th", "henry8th"},
		{"", ""},
		{"  ", ""},
		{"-.'", ""},
	}
	for _, tt := range tests {
		t.Run("R-MATCH-6 "+tt.in, func(t *testing.T) {
			got := matcher.Normalize(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, matcher.Normalize(got), "idempotent")
		})
	}
}

func TestMatchErrors(t *testing.T) {
	m := matcher.New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Match(ctx, adsync.MatchInput{Users: []*adsync.User{user("u1", "A _ B", "")}})
	assert.ErrorIs(t, err, context.Canceled)

	_, err = m.Match(context.Background(), adsync.MatchInput{Users: []*adsync.User{user("u1", "A _ B", ""), nil}})
	assert.ErrorContains(t, err, "Users[1] is nil")

	got, err := m.Match(context.Background(), adsync.MatchInput{})
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestMatchInvariants runs a generated population with many clashes and
// checks what must hold whatever the input: one decision per user in order;
// no contact decided for two users (R-LINK-5) or linked to another user
// (R-CONF-4); a link's contact shares the user's email (email rules) or is
// active or inactive as the action says.
func TestMatchInvariants(t *testing.T) {
	const n = 20_000 // above minParallel: keys are computed in parallel
	var users, linked []*adsync.User
	var contacts []*adsync.Contact
	first := []string{"Ann", "Bob", "Cy", "Dee", "Ed"}
	for i := range n {
		name := first[i%5] + " _ L" + strconv.Itoa(i%(n/2))
		if i%11 == 0 {
			name = first[i%5] + " M L" + strconv.Itoa(i%(n/2))
		}
		email := ""
		switch {
		case i%29 == 0:
			email = "e" + strconv.Itoa(i+1) + "@example.com" // the next user's too
		case i%3 != 0:
			email = "e" + strconv.Itoa(i) + "@example.com"
		}
		u := user("u"+strconv.Itoa(i), name, email)
		if i%7 == 0 {
			linked = append(linked, u)
		} else {
			users = append(users, u)
		}
		cname := first[(i+1)%5] + " _ L" + strconv.Itoa(i%(n/6))
		if i%10 == 3 {
			cname = first[(i+1)%5] + " _ L" + strconv.Itoa((i+1)%(n/2)) // user i+1's name
		}
		cemail := "E" + strconv.Itoa(i) + "@example.com"
		if i%37 == 0 {
			cemail = "E" + strconv.Itoa(i/2) + "@example.com"
		}
		contacts = append(contacts, contact(int64(i+1), i%4 != 0, cname, cemail))
	}
	linkedTo := func(id int64) (string, bool) { return "l", id%13 == 0 }
	got, err := matcher.New(nil).Match(context.Background(), adsync.MatchInput{Users: users, Linked: linked, Contacts: contacts, LinkedTo: linkedTo})
	require.NoError(t, err)
	require.Len(t, got, len(users))
	byID := map[int64]*adsync.Contact{}
	for _, c := range contacts {
		byID[c.ID] = c
	}
	claimed := map[int64]string{}
	rules := map[string]int{}
	for i, d := range got {
		require.Equal(t, users[i].ID, d.UserID)
		rules[d.Rule]++
		if d.Action != adsync.ActionLink && d.Action != adsync.ActionLinkReactivate {
			assert.Zero(t, d.ContactID)
			continue
		}
		c := byID[d.ContactID]
		require.NotNil(t, c)
		_, isLinked := linkedTo(c.ID)
		assert.False(t, isLinked, "R-CONF-4: contact %d is linked to another user", c.ID)
		prev, dup := claimed[c.ID]
		assert.False(t, dup, "R-LINK-5: contact %d decided for %s and %s", c.ID, prev, d.UserID)
		claimed[c.ID] = d.UserID
		assert.Equal(t, d.Action == adsync.ActionLink, c.Active, "user %s rule %s", d.UserID, d.Rule)
		if d.Rule == "R-MATCH-1" || d.Rule == "R-MATCH-2" {
			assert.True(t, strings.EqualFold(c.Values[adsync.Email], users[i].Values[adsync.Email]))
		}
	}
	// The population is built so that every rule decides for some users.
	for _, r := range []string{"R-MATCH-1", "R-MATCH-2", "R-MATCH-3", "R-MATCH-4", "R-MATCH-5",
		"R-CONF-1", "R-CONF-2", "R-CONF-3", "R-CONF-4", "R-LINK-5"} {
		assert.Positive(t, rules[r], "rule %s decided for no user: %v", r, rules)
	}
}

// A custom normalizer that panics does so in the caller's goroutine, where
// it can be recovered, even when keys are computed in parallel.
func TestMatchNormalizerPanic(t *testing.T) {
	in := population(20_000)
	m := matcher.New(&matcher.Options{Normalize: func(s string) string {
		if s == "Lastname19999" {
			panic("normalizer failed")
		}
		return matcher.Normalize(s)
	}})
	assert.PanicsWithValue(t, "normalizer failed", func() { _, _ = m.Match(context.Background(), in) })
}
