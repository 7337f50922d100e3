package adsync

import (
	"fmt"
	"testing"
)

func TestJoinUsers(t *testing.T) {
	var users []*User
	for _, id := range []string{"c", "a", "b", "a", "d", "c"} {
		users = append(users, &User{ID: id})
	}
	links := []Link{{UserID: "d"}, {UserID: "a"}, {UserID: "x"}}
	userLink, dups := joinUsers(users, links)
	want := []int32{-1, 1, -1, -1, 0, -1} // duplicates are dropped, not joined
	if fmt.Sprint(userLink) != fmt.Sprint(want) {
		t.Errorf("userLink = %v, want %v", userLink, want)
	}
	if fmt.Sprint(dups) != "[3 5]" {
		t.Errorf("dups = %v, want the second a and the second c: [3 5]", dups)
	}
}

func TestJoinUsersLarge(t *testing.T) {
	var users []*User
	var links []Link
	for i := range 50_000 {
		users = append(users, &User{ID: fmt.Sprintf("user-%d", i)})
		if i%3 != 0 {
			links = append(links, Link{UserID: fmt.Sprintf("user-%d", i)})
		}
	}
	userLink, dups := joinUsers(users, links)
	if len(dups) != 0 {
		t.Fatalf("dups = %v", dups)
	}
	for i, li := range userLink {
		if (i%3 == 0) != (li == -1) {
			t.Fatalf("user %d: link %d", i, li)
		}
		if li >= 0 && links[li].UserID != users[i].ID {
			t.Fatalf("user %d joined to link of %s", i, links[li].UserID)
		}
	}
}
