package adsync

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fresh returns a copy of s in memory of its own, as a decoder returns it.
func fresh(s string) string { return strings.Clone(s) }

func sameMemory(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

// TestSharer: a value read that equals its link's written value points to
// the link's string afterwards; a value that differs, a field without a
// written value, and the records without a link keep their own.
func TestSharer(t *testing.T) {
	links := []Link{
		{UserID: "u1", ContactID: 10, Written: map[Field]string{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"}},
		{UserID: "u2", ContactID: 20}, // no written values
		{UserID: "u3", Pending: true, Written: map[Field]string{FirstName: "Alan"}},
	}
	s := newSharer(compactLinks(links))

	tests := []struct {
		name         string
		id           string
		values       Values
		shared, kept []Field
		sharedID     bool
	}{
		{name: "equal values shared, changed kept", id: fresh("u1"),
			values: Values{FirstName: fresh("Ada"), LastName: fresh("King"), Email: fresh("ada@example.com"), Title: fresh("Countess")},
			shared: []Field{FirstName, Email}, kept: []Field{LastName, Title}, sharedID: true},
		{name: "pending link without contact", id: fresh("u3"), values: Values{FirstName: fresh("Alan")},
			shared: []Field{FirstName}, sharedID: true},
		{name: "link without written values", id: fresh("u2"), values: Values{FirstName: fresh("Ada")}, kept: []Field{FirstName}, sharedID: true},
		{name: "no link", id: fresh("u9"), values: Values{FirstName: fresh("Ada")}, kept: []Field{FirstName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := User{ID: tt.id, Values: tt.values}
			s.user(&u)
			assert.Equal(t, tt.values, u.Values, "the values stay the same")
			assert.Equal(t, tt.id, u.ID)
			var l *Link
			for i := range links {
				if links[i].UserID == tt.id {
					l = &links[i]
				}
			}
			assert.Equal(t, tt.sharedID, l != nil && sameMemory(u.ID, l.UserID), "id shared")
			for _, f := range tt.shared {
				assert.True(t, sameMemory(u.Values[f], l.Written[f]), "%s shared", f)
			}
			for _, f := range tt.kept {
				assert.True(t, sameMemory(u.Values[f], tt.values[f]), "%s kept", f)
			}
		})
	}

	t.Run("contacts", func(t *testing.T) {
		c := Contact{ID: 10, Values: Values{FirstName: fresh("Ada"), LastName: fresh("Byron")}}
		want := c.Values
		s.contact(&c)
		assert.Equal(t, want, c.Values)
		assert.True(t, sameMemory(c.Values[FirstName], links[0].Written[FirstName]))
		assert.True(t, sameMemory(c.Values[LastName], want[LastName]))

		other := Contact{ID: 20, Values: Values{FirstName: fresh("Ada")}}
		s.contact(&other)
		assert.False(t, sameMemory(other.Values[FirstName], links[0].Written[FirstName]), "another contact's value")
	})

	t.Run("no links", func(t *testing.T) {
		none := newSharer(nil, nil)
		assert.Nil(t, none)
		u := User{ID: "u1"}
		none.user(&u) // a nil sharer shares nothing
		c := Contact{ID: 10}
		none.contact(&c)
	})
}

// TestCompactLinks: the written values kept apart read back as the links
// had them, field by field and whole, and the links are otherwise the same.
func TestCompactLinks(t *testing.T) {
	every := map[Field]string{}
	for f := Field(0); f < NumFields; f++ {
		every[f] = "v" + f.String()
	}
	links := []Link{
		{UserID: "u1", ContactID: 10, Written: map[Field]string{FirstName: "Ada", Email: "ada@example.com", RoomNumber: "12"}},
		{UserID: "u2", ContactID: 20},
		{UserID: "u3", Pending: true, Written: map[Field]string{LastName: ""}}, // a blank value written
		{UserID: "u4", ContactID: 40, Written: every},
	}
	out, w := compactLinks(links)
	require.Len(t, out, len(links))
	pl := planner{links: out, written: w}
	for i, l := range links {
		for f := Field(0); f < NumFields; f++ {
			want, wantOK := l.Written[f]
			got, ok := w.get(i, f)
			assert.Equal(t, wantOK, ok, "link %d field %s", i, f)
			assert.Equal(t, want, got, "link %d field %s", i, f)
			assert.Equal(t, want, pl.writtenValues(i)[f])
		}
		assert.Nil(t, out[i].Written, "link %d: kept apart", i)
		assert.Equal(t, l, pl.link(i), "link %d whole", i)
		if len(l.Written) == 0 {
			assert.Nil(t, w.of(i))
		}
	}

	// Without written values nothing is kept apart, and a planner given
	// whole links reads them as they are.
	bare := []Link{{UserID: "u1", ContactID: 10}}
	same, none := compactLinks(bare)
	assert.Nil(t, none)
	assert.Equal(t, bare, same)
	whole := planner{links: links}
	assert.Equal(t, links[0], whole.link(0))
	assert.Equal(t, "Ada", whole.writtenValues(0)[FirstName])
}

// TestLateSharer: the links load while the reads run, so the sharer comes
// mid-read; the records read before it are shared by catchUp, those after
// it as they are read, and contacts reordered after the read all by
// catchUp.
func TestLateSharer(t *testing.T) {
	links := []Link{
		{UserID: "u1", ContactID: 10, Written: map[Field]string{FirstName: "Ada"}},
		{UserID: "u2", ContactID: 20, Written: map[Field]string{FirstName: "Alan"}},
		{UserID: "u3", ContactID: 30, Written: map[Field]string{FirstName: "Grace"}},
	}
	userOf := func(i int) *User {
		return &User{ID: fresh(links[i].UserID), Values: Values{FirstName: fresh(links[i].Written[FirstName])}}
	}
	contactOf := func(i int) *Contact {
		return &Contact{ID: links[i].ContactID, Values: Values{FirstName: fresh(links[i].Written[FirstName])}}
	}
	tests := []struct {
		name          string
		sharerAt      int  // the page (of one record) before which the sharer comes; 3: after the reads
		contactsMoved bool // the store's pages were not in id order
	}{
		{name: "before the reads", sharerAt: 0},
		{name: "mid-read", sharerAt: 2},
		{name: "after the reads", sharerAt: 3},
		{name: "mid-read, contacts sorted after", sharerAt: 1, contactsMoved: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &lateSharer{}
			var users []*User
			var contacts []*Contact
			for i := range links {
				if i == tt.sharerAt {
					l.set(newSharer(compactLinks(links)))
				}
				u, c := userOf(i), contactOf(i)
				shareUser(l.forUsers(len(users)), u)
				l.forContacts(len(contacts)).contact(c)
				users, contacts = append(users, u), append(contacts, c)
			}
			if tt.sharerAt == len(links) {
				l.set(newSharer(compactLinks(links)))
			}
			if tt.contactsMoved {
				l.contactsMoved(len(contacts))
				contacts[0], contacts[2] = contacts[2], contacts[0]
			}
			l.catchUp(users, contacts)
			for _, u := range users {
				i := int(u.ID[1] - '1')
				assert.True(t, sameMemory(u.Values[FirstName], links[i].Written[FirstName]), "user %s shared", u.ID)
				assert.True(t, sameMemory(u.ID, links[i].UserID), "user %s's id shared", u.ID)
			}
			for _, c := range contacts {
				i := int(c.ID/10) - 1
				assert.True(t, sameMemory(c.Values[FirstName], links[i].Written[FirstName]), "contact %d shared", c.ID)
			}
		})
	}

	t.Run("a nil lateSharer shares nothing", func(t *testing.T) {
		var l *lateSharer
		assert.Nil(t, l.forUsers(0))
		assert.Nil(t, l.forContacts(0))
		l.resetUsers()
		l.contactsMoved(1)
	})
}
