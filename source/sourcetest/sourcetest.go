package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/conform"
)

// Harness controls a directory and the source that reads it.
type Harness interface {
	// Source returns the source under test, reading this harness's scope.
	Source(ctx context.Context) (adsync.DirectorySource, error)
	// Fields reports which adsync fields the directory can hold (Graph has no middle initial etc.).
	Fields() adsync.FieldSet
	// AddUsers creates enabled, in-scope users with the given values (User.ID ignored: the directory assigns ids) and returns their ids in order.
	AddUsers(ctx context.Context, users []adsync.User) ([]string, error)
	// UpdateUser sets the given fields of a user (only fs).
	UpdateUser(ctx context.Context, id string, fs adsync.FieldSet, v adsync.Values) error
	// RemoveFromScope takes a user out of scope (e.g. removes it from the group) without deleting it.
	RemoveFromScope(ctx context.Context, id string) error
	// SetEnabled enables or disables the account.
	SetEnabled(ctx context.Context, id string, enabled bool) error
}

// PagingUsers is the number of users the paging test adds in one AddUsers
// call: more than one page of adsync.MaxPageSize.
const PagingUsers = 600

// Run runs the conformance suite. newHarness is called once per subtest and
// must return a harness whose scope is empty (a real directory makes a
// fresh group or OU per harness); teardown belongs in t.Cleanup.
//
// The suite adds about 640 users in all, 600 of them in one AddUsers call,
// and calls Source once or twice per subtest.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			src, err := h.Source(t.Context())
			if err != nil {
				t.Fatalf("harness: Source: %v", err)
			}
			tc.run(t, &suite{t: t, h: h, src: src, ctx: t.Context()})
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, s *suite)
}

var cases = []testCase{
	{"EmptyScopeReadsNoUsers", testEmpty},
	{"AddedUsersReadBackOnce", testAdded},
	{"R-LINK-1 IDsStableAcrossReadsAndRenames", testStableIDs},
	{"Paging", testPaging},
	{"R-DEACT-1 RemovedFromScopeIsNotRead", testRemoved},
	{"R-SCOPE-8 DisabledUsersDeliveredDisabled", testDisabled},
	{"R-DEACT-3 CancelledContextIsAnError", testCancelled},
	{"Check", testCheck},
	{"Incremental", testIncremental},
}

// The rules, quoted in failure messages. Each names the method whose doc
// comment states it (adsync.DirectorySource, adsync.IncrementalSource, or
// this package's Harness); rules_test.go checks that the method exists.
const (
	ruleRead      = "DirectorySource.Users: reads every in-scope user and returns nil only when the whole read completed"
	ruleOnce      = "DirectorySource.Users: each in-scope user appears once per read"
	rulePages     = "DirectorySource.Users: calls page with 1 to adsync.MaxPageSize (500) users at a time"
	ruleValues    = "DirectorySource: User.Values holds the directory's values by contact field, as written (checked for every field in Harness.Fields)"
	ruleID        = "DirectorySource: User.ID is the user's immutable directory id: never empty, unique, the same on every read and after any rename (R-LINK-1)"
	ruleEnabled   = "DirectorySource: User.Enabled reports whether the account is enabled"
	ruleScope     = "DirectorySource.Users: reads every in-scope user, and no other: a user taken out of scope is not read (R-DEACT-1 depends on it)"
	ruleDisabled  = "DirectorySource.Users: disabled users are delivered too, with Enabled=false: the Syncer, not the source, applies the organization's policy (R-SCOPE-8)"
	rulePageErr   = "DirectorySource.Users: if page returns an error, Users stops at once and returns an error that errors.Is finds it in"
	ruleCancel    = "DirectorySource.Users: honours ctx before reading and between pages at least; a cancelled read returns an error wrapping context.Canceled, never nil (R-DEACT-3)"
	ruleCheck     = "DirectorySource.Check: returns nil and a TLS status other than TLSUnknown (R-STATUS-2) for a reachable directory with accepted credentials"
	ruleFull      = "IncrementalSource.UsersSince: with cursor \"\" it is a full read of every in-scope user, and returns a non-empty cursor"
	ruleSince     = "IncrementalSource.UsersSince: delivers the users created or changed since the read that returned cursor, few others, and returns a non-empty cursor"
	ruleExpired   = "IncrementalSource.UsersSince: a cursor that cannot be used (expired, or never issued by this source) gives an error wrapping adsync.ErrCursorExpired"
	ruleAddUsers  = "Harness.AddUsers: returns one id per user, in order"
	ruleUPN       = "DirectorySource: User.UPN is the userPrincipalName as written in the directory"
	ruleEmptyPage = "DirectorySource.Users: page is never called with an empty page (an empty scope makes no call)"
)

// validTLS are the statuses a successful Check may report.
var validTLS = []adsync.TLSStatus{adsync.TLSOK, adsync.TLSExpiring, adsync.TLSExpired,
	adsync.TLSUntrusted, adsync.TLSHostnameMismatch, adsync.TLSNotApplicable}

type suite struct {
	t   *testing.T
	h   Harness
	src adsync.DirectorySource
	ctx context.Context
}

func (s *suite) sub(t *testing.T) *suite { c := *s; c.t = t; return &c }

// broken reports a broken rule: what went wrong, then the contract.
func (s *suite) broken(rule, format string, args ...any) {
	s.t.Helper()
	conform.Broken(s.t, rule, format, args...)
}

// fatal is broken, and stops the subtest.
func (s *suite) fatal(rule, format string, args ...any) {
	s.t.Helper()
	conform.Fatal(s.t, rule, format, args...)
}

func (s *suite) must(err error, what string) {
	s.t.Helper()
	conform.Must(s.t, err, what)
}

var (
	uniqMu sync.Mutex
	uniqN  int
	// runTag tells this process's users from those a crashed earlier run
	// may have left in a real directory.
	runTag = fmt.Sprintf("%04x", rand.Uint32()&0xffff)
)

// uniq returns a string unique to this run, so that the users of one
// harness never collide with another's (or an earlier run's) in a shared
// directory.
func uniq() string {
	uniqMu.Lock()
	defer uniqMu.Unlock()
	uniqN++
	return fmt.Sprintf("%s%d", runTag, uniqN)
}

// sampleUser returns a user with a value for each field the directory can
// hold, some of them non-ASCII.
func (s *suite) sampleUser(i int) adsync.User {
	tag := uniq()
	sample := adsync.Values{
		adsync.FirstName:      fmt.Sprintf("Zoë%d", i),
		adsync.LastName:       "Ångström-" + tag,
		adsync.MiddleInitial:  "Q",
		adsync.Email:          "user" + tag + "@example.com",
		adsync.Title:          "Engineer",
		adsync.Phone:          fmt.Sprintf("+49 30 1234 %03d", i),
		adsync.MobilePhone:    "+49 170 555 0100",
		adsync.Fax:            "+49 30 1234 999",
		adsync.AlternatePhone: "+49 30 555 0199",
		adsync.AddressLine:    "Hauptstraße 1",
		adsync.AddressLine2:   "Gebäude 2",
		adsync.City:           "Berlin",
		adsync.State:          "BE",
		adsync.ZipCode:        "10115",
		adsync.CountryID:      "DE",
		adsync.RoomNumber:     "R 101",
	}
	u := adsync.User{Enabled: true, UPN: "user" + tag + "@example.com"}
	for _, f := range s.h.Fields().Fields() {
		u.Values[f] = sample[f]
	}
	return u
}

func (s *suite) add(users []adsync.User) []string {
	s.t.Helper()
	ids, err := s.h.AddUsers(s.ctx, users)
	s.must(err, "harness: AddUsers")
	if len(ids) != len(users) {
		s.fatal(ruleAddUsers, "AddUsers of %d users returned %d ids", len(users), len(ids))
	}
	return ids
}

func (s *suite) addSamples(n int) ([]adsync.User, []string) {
	s.t.Helper()
	users := make([]adsync.User, n)
	for i := range users {
		users[i] = s.sampleUser(i)
	}
	ids := s.add(users)
	for i := range users {
		users[i].ID = ids[i]
	}
	return users, ids
}

// readAll reads every user and returns them with the page sizes.
func (s *suite) readAll() ([]adsync.User, []int, error) {
	var all []adsync.User
	var sizes []int
	err := s.src.Users(s.ctx, func(p []adsync.User) error {
		sizes = append(sizes, len(p))
		all = append(all, p...) // copies: the source may reuse p
		return nil
	})
	return all, sizes, err
}

// read reads every user, checks the page sizes and that each user appears
// once, and returns the users by id.
func (s *suite) read() map[string]adsync.User {
	s.t.Helper()
	all, sizes, err := s.readAll()
	if err != nil {
		s.fatal(ruleRead, "Users: %v", err)
	}
	s.checkPages(sizes)
	return s.byID(all)
}

func (s *suite) checkPages(sizes []int) {
	s.t.Helper()
	for i, n := range sizes {
		switch {
		case n == 0:
			s.broken(ruleEmptyPage, "page %d is empty", i+1)
		case n > adsync.MaxPageSize:
			s.broken(rulePages, "page %d has %d users", i+1, n)
		}
	}
}

// byID indexes users by id, reporting empty and repeated ids.
func (s *suite) byID(all []adsync.User) map[string]adsync.User {
	s.t.Helper()
	m := make(map[string]adsync.User, len(all))
	for _, u := range all {
		if u.ID == "" {
			s.broken(ruleID, "a user (%s) was delivered with an empty ID", u.Label())
			continue
		}
		if _, dup := m[u.ID]; dup {
			s.broken(ruleOnce, "user %s was delivered twice in one read", u.ID)
		}
		m[u.ID] = u
	}
	return m
}

// checkUser compares a user read with the one written, on Harness.Fields.
func (s *suite) checkUser(want, got adsync.User) {
	s.t.Helper()
	var d []string
	for _, f := range s.h.Fields().Fields() {
		if want.Values[f] != got.Values[f] {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", f, got.Values[f], want.Values[f]))
		}
	}
	if d != nil {
		s.broken(ruleValues, "user %s read back with other values:\n\t%s", want.ID, strings.Join(d, "\n\t"))
	}
	if want.UPN != "" && got.UPN != want.UPN {
		s.broken(ruleUPN, "user %s read back with UPN %q, want %q", want.ID, got.UPN, want.UPN)
	}
	if !got.Enabled {
		s.broken(ruleEnabled, "user %s is enabled and was delivered with Enabled=false", want.ID)
	}
}

func testEmpty(t *testing.T, s *suite) {
	calls := 0
	err := s.src.Users(s.ctx, func(p []adsync.User) error {
		calls++
		if len(p) == 0 {
			s.broken(ruleEmptyPage, "an empty scope was read as an empty page")
		}
		return nil
	})
	if err != nil {
		s.broken(ruleRead, "reading an empty scope returned %v; want nil (a complete read of zero users)", err)
	}
	if calls != 0 {
		s.broken(ruleScope, "an empty scope delivered %d pages", calls)
	}
}

func testAdded(t *testing.T, s *suite) {
	users, _ := s.addSamples(5)
	got := s.read()
	if len(got) != len(users) {
		s.broken(ruleScope, "read %d users from a scope of %d", len(got), len(users))
	}
	for _, want := range users {
		u, ok := got[want.ID]
		if !ok {
			s.broken(ruleRead, "user %s, added to the scope, was not read under the id AddUsers returned", want.Label())
			continue
		}
		s.checkUser(want, u)
	}
}

func testStableIDs(t *testing.T, s *suite) {
	users, ids := s.addSamples(3)
	first := s.read()
	second := s.read()
	for _, id := range ids {
		if _, ok := first[id]; !ok {
			s.fatal(ruleID, "user %s, whose id AddUsers returned, is not read under that id", id)
		}
		if _, ok := second[id]; !ok {
			s.broken(ruleID, "user %s was read once and not under the same id on a second read", id)
		}
	}
	fs := adsync.NewFieldSet(adsync.FirstName, adsync.LastName) & s.h.Fields()
	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName] = "Renamed", "Person-"+uniq()
	s.must(s.h.UpdateUser(s.ctx, ids[1], fs, v), "harness: UpdateUser")
	third := s.read()
	if len(third) != len(ids) {
		s.broken(ruleID, "after renaming a user, %d users are read; want %d", len(third), len(ids))
	}
	u, ok := third[ids[1]]
	if !ok {
		s.fatal(ruleID, "after renaming user %s, it is no longer read under its id", ids[1])
	}
	want := users[1]
	for _, f := range fs.Fields() {
		want.Values[f] = v[f]
	}
	s.checkUser(want, u)
}

func testPaging(t *testing.T, s *suite) {
	users := make([]adsync.User, PagingUsers)
	for i := range users {
		tag := uniq()
		users[i] = adsync.User{Enabled: true, UPN: "p" + tag + "@example.com"}
		users[i].Values[adsync.FirstName] = "Page"
		users[i].Values[adsync.LastName] = "User-" + tag
		if s.h.Fields().Has(adsync.Email) {
			users[i].Values[adsync.Email] = "p" + tag + "@example.com"
		}
	}
	ids := s.add(users)

	t.Run("PagesOf1To500EachUserOnce", func(t *testing.T) {
		s := s.sub(t)
		all, sizes, err := s.readAll()
		if err != nil {
			s.fatal(ruleRead, "Users: %v", err)
		}
		s.checkPages(sizes)
		if len(sizes) < 2 {
			s.broken(rulePages, "%d users came in %d page(s)", PagingUsers, len(sizes))
		}
		got := s.byID(all)
		for _, id := range ids {
			if _, ok := got[id]; !ok {
				s.fatal(ruleRead, "user %s is missing from a read of %d users (read %d)", id, PagingUsers, len(got))
			}
		}
		if len(all) != PagingUsers {
			s.broken(ruleOnce, "read %d users from a scope of %d", len(all), PagingUsers)
		}
	})

	t.Run("PageErrorStopsTheRead", func(t *testing.T) {
		s := s.sub(t)
		stop := errors.New("sourcetest: stop")
		calls := 0
		err := s.src.Users(s.ctx, func([]adsync.User) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) {
			s.broken(rulePageErr, "page returned an error and Users returned %v", err)
		}
		if calls != 1 {
			s.broken(rulePageErr, "page returned an error on the first page and was called %d times", calls)
		}
	})

	t.Run("CancelBetweenPagesStopsTheRead", func(t *testing.T) {
		s := s.sub(t)
		ctx, cancel := context.WithCancel(s.ctx)
		defer cancel()
		calls := 0
		err := s.src.Users(ctx, func([]adsync.User) error {
			calls++
			cancel()
			return nil
		})
		switch {
		case err == nil:
			s.broken(ruleCancel, "the context was cancelled during the first of several pages and Users returned nil")
		case !errors.Is(err, context.Canceled):
			s.broken(ruleCancel, "the context was cancelled during a read and Users returned %v", err)
		}
		if calls != 1 {
			s.broken(ruleCancel, "the context was cancelled during the first page and page was called %d times", calls)
		}
	})
}

func testRemoved(t *testing.T, s *suite) {
	_, ids := s.addSamples(3)
	s.must(s.h.RemoveFromScope(s.ctx, ids[1]), "harness: RemoveFromScope")
	got := s.read()
	if _, ok := got[ids[1]]; ok {
		s.broken(ruleScope, "user %s was taken out of scope and is still read", ids[1])
	}
	for _, id := range []string{ids[0], ids[2]} {
		if _, ok := got[id]; !ok {
			s.broken(ruleScope, "user %s is in scope and was not read after another left", id)
		}
	}
}

func testDisabled(t *testing.T, s *suite) {
	users, ids := s.addSamples(2)
	s.must(s.h.SetEnabled(s.ctx, ids[0], false), "harness: SetEnabled(false)")
	got := s.read()
	if u, ok := got[ids[0]]; !ok {
		s.broken(ruleDisabled, "user %s was disabled and was not delivered", ids[0])
	} else if u.Enabled {
		s.broken(ruleDisabled, "user %s was disabled and was delivered with Enabled=true", ids[0])
	}
	if u, ok := got[ids[1]]; !ok || !u.Enabled {
		s.broken(ruleEnabled, "user %s is enabled: read=%v Enabled=%v", ids[1], ok, u.Enabled)
	}

	s.must(s.h.SetEnabled(s.ctx, ids[0], true), "harness: SetEnabled(true)")
	got = s.read()
	u, ok := got[ids[0]]
	if !ok {
		s.fatal(ruleEnabled, "user %s was enabled again and is not read", ids[0])
	}
	s.checkUser(users[0], u)
}

func testCancelled(t *testing.T, s *suite) {
	s.addSamples(2)
	ctx, cancel := context.WithCancel(s.ctx)
	cancel()
	err := s.src.Users(ctx, func([]adsync.User) error { return nil })
	if err == nil {
		s.broken(ruleCancel, "Users with a cancelled context returned nil: a read that may not have completed passed as complete")
	} else if !errors.Is(err, context.Canceled) {
		s.broken(ruleCancel, "Users with a cancelled context returned %v", err)
	}
}

func testCheck(t *testing.T, s *suite) {
	st, err := s.src.Check(s.ctx)
	if err != nil {
		s.fatal(ruleCheck, "Check: %v", err)
	}
	if !slices.Contains(validTLS, st.TLS) {
		s.broken(ruleCheck, "Check reported TLS status %q after connecting; want one of %v", st.TLS, validTLS)
	}
}

// readSince runs UsersSince and returns the users by id and the cursor.
func (s *suite) readSince(src adsync.IncrementalSource, cursor string) (map[string]adsync.User, string, error) {
	var all []adsync.User
	var sizes []int
	next, err := src.UsersSince(s.ctx, cursor, func(p []adsync.User) error {
		sizes = append(sizes, len(p))
		all = append(all, p...)
		return nil
	})
	s.checkPages(sizes)
	return s.byID(all), next, err
}

func testIncremental(t *testing.T, s *suite) {
	src, ok := s.src.(adsync.IncrementalSource)
	if !ok {
		t.Skip("the source is not an adsync.IncrementalSource")
	}
	users, ids := s.addSamples(5)
	full, cursor, err := s.readSince(src, "")
	if err != nil {
		s.fatal(ruleFull, "UsersSince(\"\"): %v", err)
	}
	if cursor == "" {
		s.fatal(ruleFull, "UsersSince(\"\") returned an empty cursor")
	}
	if len(full) != len(ids) {
		s.broken(ruleFull, "UsersSince(\"\") read %d users from a scope of %d", len(full), len(ids))
	}
	for _, u := range users {
		if got, ok := full[u.ID]; !ok {
			s.broken(ruleFull, "UsersSince(\"\") did not read user %s", u.ID)
		} else {
			s.checkUser(u, got)
		}
	}

	t.Run("UnchangedDirectory", func(t *testing.T) {
		s := s.sub(t)
		got, next, err := s.readSince(src, cursor)
		if err != nil {
			s.fatal(ruleSince, "UsersSince(cursor) on an unchanged directory: %v", err)
		}
		if next == "" {
			s.broken(ruleSince, "UsersSince(cursor) returned an empty cursor")
		}
		if len(got) > len(ids)/2 {
			s.broken(ruleSince, "nothing changed since the cursor and UsersSince read %d of %d users", len(got), len(ids))
		}
		for id, u := range got {
			i := slices.Index(ids, id)
			if i < 0 {
				s.broken(ruleSince, "UsersSince read user %s, which is not in scope", id)
				continue
			}
			s.checkUser(users[i], u)
		}
	})

	t.Run("ChangedAndNewUsersDelivered", func(t *testing.T) {
		s := s.sub(t)
		f := adsync.LastName
		if s.h.Fields().Has(adsync.Title) {
			f = adsync.Title
		}
		var v adsync.Values
		v[f] = "Changed " + uniq()
		s.must(s.h.UpdateUser(s.ctx, ids[2], adsync.NewFieldSet(f), v), "harness: UpdateUser")
		changed := users[2]
		changed.Values[f] = v[f]
		added, newIDs := s.addSamples(1)
		added[0].ID = newIDs[0]

		got, next, err := s.readSince(src, cursor)
		if err != nil {
			s.fatal(ruleSince, "UsersSince(cursor) after a change: %v", err)
		}
		if next == "" {
			s.broken(ruleSince, "UsersSince(cursor) returned an empty cursor")
		}
		for _, want := range []adsync.User{changed, added[0]} {
			if u, ok := got[want.ID]; !ok {
				s.broken(ruleSince, "user %s was changed or created since the cursor and UsersSince did not read it (read %d users)", want.ID, len(got))
			} else {
				s.checkUser(want, u)
			}
		}
		untouched := 0
		for _, id := range ids {
			if _, ok := got[id]; ok && id != ids[2] {
				untouched++
			}
		}
		if untouched > (len(ids)-1)/2 {
			s.broken(ruleSince, "UsersSince read %d of the %d users untouched since the cursor: an incremental read must deliver only the changed ones", untouched, len(ids)-1)
		} else if untouched > 0 {
			t.Logf("UsersSince read %d untouched users besides the changed ones", untouched)
		}
	})

	t.Run("UnknownCursorIsExpired", func(t *testing.T) {
		s := s.sub(t)
		_, _, err := s.readSince(src, "sourcetest-not-a-cursor-"+uniq())
		if !errors.Is(err, adsync.ErrCursorExpired) {
			s.broken(ruleExpired, "UsersSince with a cursor this source never issued returned %v", err)
		}
	})
}
