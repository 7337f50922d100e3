package historytest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/conform"
)

// A test is one rule of the HistoryStore contract. Its rule starts with the
// part and method whose doc comment states it ("RunStore.FinishRun: ...",
// "HistoryStore: ..." for what every method promises), and is reported in
// conform's format when the test fails, to tell the implementer which rule
// the store broke. Its name leads with the rule id where one applies.
type test struct {
	name string
	rule string
	run  func(t *testing.T, s adsync.HistoryStore)
}

// Run runs the conformance tests on stores made by newStore, one fresh,
// empty store per subtest. newStore may register its own cleanup (closing
// the store, dropping a schema) with t.Cleanup.
//
// As adsync.HistoryStore states, stores keep times to at least the
// millisecond and return them in UTC; the tests use millisecond times and
// compare with time.Time.Equal. Empty lists and maps may come back as nil
// or empty. The records the
// tests write set every field of their type, and the tests fail when a
// field is added to adsync.Run, Link, Conflict or Resolution until they
// set it too: a store must keep every field.
func Run(t *testing.T, newStore func(t *testing.T) adsync.HistoryStore) {
	t.Helper()
	for _, group := range cases() {
		for _, tc := range group {
			runCase(t, tc, newStore)
		}
	}
}

// runCase runs one test as a subtest and names its rule if it fails.
func runCase(t *testing.T, tc test, newStore func(t *testing.T) adsync.HistoryStore) {
	t.Run(tc.name, func(t *testing.T) {
		conform.Contract(t, tc.rule)
		tc.run(t, newStore(t))
	})
}

// cases are all the suite's tests, in the order Run runs them.
func cases() [][]test {
	return [][]test{tests, noticeTests, safetyTests, changeTests, lockerTests}
}

var tests = []test{
	{"StartRun assigns growing ids",
		"RunStore.StartRun: sets Run.ID; ids grow with each call within a store, whatever the organization; the run is kept at once as given",
		testStartRun},
	{"R-RUN-3 FinishRun keeps the newest 10 runs per organization",
		"RunStore.FinishRun: replaces the run and removes the organization's runs beyond the newest adsync.KeepRuns (by id) (R-RUN-3); other organizations' runs are untouched; a removed run is adsync.ErrNotFound to Run and FinishRun",
		testPrune},
	{"Runs lists newest first with a limit",
		"RunStore.Runs: returns the organization's runs by descending id, at most limit of them; limit <= 0 means all kept runs; an organization without runs has none and no error (adsync.HistoryStore)",
		testRunsOrder},
	{"Run and FinishRun of a missing run are ErrNotFound",
		"RunStore.Run: returns an error wrapping adsync.ErrNotFound (errors.Is) for an id the organization does not keep: never issued, or another organization's; so does FinishRun, and changes nothing",
		testRunNotFound},
	{"R-RUN-4 every run field round-trips",
		"HistoryStore: records are kept whole (R-RUN-4): every field of adsync.Run given to StartRun and FinishRun comes back from Run and Runs (status, trigger, error, counts, warnings, skips, failures, held deactivations, API calls, TLS, full read, cursor, approval, undo); times in UTC, equal to the millisecond; a zero Ended stays zero",
		testRunFields},
	{"R-RUN-7 InterruptRuns marks running runs of every organization",
		"RunStore.InterruptRuns: sets Status interrupted and Ended to now on every run still running, whatever its organization (R-RUN-7), returns how many it marked, and leaves finished runs alone",
		testInterrupt},
	{"R-LINK-1 links put, replace, delete and list",
		"LinkStore.PutLinks: inserts or replaces by (organization, user id) (R-LINK-1), pending create journal entries included, with their Written values; a link without OrgID is of the call's organization; Links returns them all with OrgID set; DeleteLinks removes the given users and ignores missing ones",
		testLinks},
	{"links of other organizations are untouched",
		"LinkStore.PutLinks: links are keyed by (organization, user id): the same user id in two organizations is two links; putting and deleting in one leaves the other as it was; an organization without links has none and no error",
		testLinksPerOrg},
	{"PutLinks is atomic and refuses a link of another organization",
		"LinkStore.PutLinks: all links of one call are of its organization; a link whose OrgID names another one fails the call, which writes none of its links",
		testLinksAtomic},
	{"records are copies",
		"HistoryStore: records are copies both ways: changing a map given to PutLinks or returned by Links, or the lists of a run returned by StartRun or Run, does not change the store",
		testCopies},
	{"R-CONF-5 ReplaceConflicts replaces the open set",
		"ConflictStore.ReplaceConflicts: makes its argument the organization's open conflicts, with every field (R-CONF-5); a conflict not in the new set clears itself; an empty set clears all; other organizations are untouched",
		testConflicts},
	{"R-CONF-6 resolutions put, replace and delete",
		"ConflictStore.PutResolution: inserts or replaces the resolution of (organization, user id) with every field (R-CONF-6); DeleteResolution removes it and returns adsync.ErrNotFound when there is none; other organizations are untouched",
		testResolutions},
	{"concurrent writers lose nothing",
		"HistoryStore: every method is safe for concurrent use and each call is atomic: runs started at once get distinct ids, and links put at once from several goroutines are all kept",
		testConcurrent},
	{"text round-trips byte for byte",
		"HistoryStore: text is valid UTF-8 without NUL (the Syncer cleans the directory's values); every character of it, and long values, come back byte for byte in links (user ids, written values), runs (error, cursor, warnings, skip labels, failures, held contacts), conflicts and resolutions",
		testText},
	{"a cancelled context is an error and changes nothing",
		"HistoryStore: every method called with a cancelled context returns an error wrapping ctx.Err() and changes nothing: no run started, finished or interrupted, no link, conflict or resolution written or removed, no lock taken",
		testCancelled},
	{"5,000 links in batches of 500, 25,000 in one call",
		"LinkStore.PutLinks: takes any number of links in one call: the Syncer's batches of 500 and a first run's 25,000 at once all come back from Links, and a second large call replaces them",
		testManyLinks},
}

var lockerTests = []test{
	{"R-RUN-5 TryLock excludes a second holder until unlock",
		"Locker.TryLock: a held organization's lock fails at once with an error wrapping adsync.ErrRunInProgress (R-RUN-5); another organization can be locked meanwhile; Lock.Held is nil while held and wraps adsync.ErrLockLost after Unlock; Unlock may be called twice; after unlock the lock can be taken again",
		testLocker},
}

// t0 is a fixed time with millisecond precision in a zone that is not UTC,
// so that a store that ignores zones or drops milliseconds fails.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.FixedZone("UTC+2", 2*3600))

func at(d time.Duration) time.Time { return t0.Add(d) }

func startRun(t *testing.T, s adsync.HistoryStore, org string, started time.Time) adsync.Run {
	t.Helper()
	r, err := s.StartRun(t.Context(), adsync.Run{OrgID: org, Trigger: adsync.TriggerScheduled, Started: started, Status: adsync.StatusRunning})
	require.NoError(t, err, "StartRun(%s)", org)
	return r
}

func finish(t *testing.T, s adsync.HistoryStore, r adsync.Run, status adsync.RunStatus, ended time.Time) adsync.Run {
	t.Helper()
	r.Status, r.Ended = status, ended
	require.NoError(t, s.FinishRun(t.Context(), r), "FinishRun(%s, %d)", r.OrgID, r.ID)
	return r
}

func ids(runs []adsync.Run) []int64 {
	out := make([]int64, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

func testStartRun(t *testing.T, s adsync.HistoryStore) {
	var last int64
	for i, org := range []string{"org-a", "org-b", "org-a", "org-c", "org-b"} {
		r := startRun(t, s, org, at(time.Duration(i)*time.Minute))
		require.Greater(t, r.ID, last, "run %d: StartRun returned id %d after id %d", i, r.ID, last)
		last = r.ID
		got, err := s.Run(t.Context(), org, r.ID)
		require.NoError(t, err, "Run(%s, %d) right after StartRun", org, r.ID)
		require.Equal(t, adsync.StatusRunning, got.Status)
		require.Equal(t, org, got.OrgID)
		require.True(t, got.Ended.IsZero(), "a running run has a zero Ended, got %v", got.Ended)
	}
}

func testPrune(t *testing.T, s adsync.HistoryStore) {
	var all []int64
	for i := range adsync.KeepRuns + 3 {
		r := startRun(t, s, "org-a", at(time.Duration(i)*time.Hour))
		finish(t, s, r, adsync.StatusSucceeded, at(time.Duration(i)*time.Hour+time.Minute))
		all = append(all, r.ID)
		if i < 3 {
			other := startRun(t, s, "org-b", at(time.Duration(i)*time.Hour))
			finish(t, s, other, adsync.StatusFailed, at(time.Duration(i)*time.Hour+time.Second))
		}
	}
	runs, err := s.Runs(t.Context(), "org-a", 0)
	require.NoError(t, err)
	want := slices.Clone(all[len(all)-adsync.KeepRuns:])
	slices.Reverse(want)
	require.Equal(t, want, ids(runs), "the newest %d runs, newest first", adsync.KeepRuns)
	for _, id := range all[:len(all)-adsync.KeepRuns] {
		_, err := s.Run(t.Context(), "org-a", id)
		require.ErrorIs(t, err, adsync.ErrNotFound, "run %d should have been removed", id)
		err = s.FinishRun(t.Context(), adsync.Run{ID: id, OrgID: "org-a", Status: adsync.StatusSucceeded})
		require.ErrorIs(t, err, adsync.ErrNotFound, "FinishRun of removed run %d", id)
	}
	other, err := s.Runs(t.Context(), "org-b", 0)
	require.NoError(t, err)
	require.Len(t, other, 3, "org-b's runs must not be pruned with org-a's")
}

func testRunsOrder(t *testing.T, s adsync.HistoryStore) {
	var all []int64
	for i := range 5 {
		r := startRun(t, s, "org-a", at(time.Duration(i)*time.Hour))
		if i%2 == 0 {
			finish(t, s, r, adsync.StatusSucceeded, at(time.Duration(i)*time.Hour+time.Minute))
		}
		all = append(all, r.ID)
	}
	slices.Reverse(all)
	for _, tc := range []struct {
		limit int
		want  []int64
	}{{0, all}, {-1, all}, {2, all[:2]}, {5, all}, {100, all}} {
		runs, err := s.Runs(t.Context(), "org-a", tc.limit)
		require.NoError(t, err)
		require.Equal(t, tc.want, ids(runs), "Runs(org-a, limit %d)", tc.limit)
	}
	runs, err := s.Runs(t.Context(), "unknown-org", 0)
	require.NoError(t, err)
	require.Empty(t, runs)
}

func testRunNotFound(t *testing.T, s adsync.HistoryStore) {
	r := startRun(t, s, "org-a", t0)
	_, err := s.Run(t.Context(), "org-a", r.ID+1000)
	require.ErrorIs(t, err, adsync.ErrNotFound, "Run of an id never issued")
	_, err = s.Run(t.Context(), "org-b", r.ID)
	require.ErrorIs(t, err, adsync.ErrNotFound, "Run of another organization's id")
	err = s.FinishRun(t.Context(), adsync.Run{ID: r.ID + 1000, OrgID: "org-a", Status: adsync.StatusSucceeded})
	require.ErrorIs(t, err, adsync.ErrNotFound, "FinishRun of an id never issued")
	got, err := s.Run(t.Context(), "org-a", r.ID)
	require.NoError(t, err)
	require.Equal(t, adsync.StatusRunning, got.Status, "a failed FinishRun must not change anything")
}

// fullRun has every field of a run set.
func fullRun(org string) adsync.Run {
	return adsync.Run{
		OrgID:   org,
		Trigger: adsync.TriggerApproval,
		Started: t0,
		Status:  adsync.StatusRunning,
		TLS:     adsync.TLSExpiring,
		Counts: adsync.Counts{Read: 1, Unchanged: 2, Created: 3, Linked: 4, Updated: 5, Reactivated: 6,
			Deactivated: 7, Held: 8, Conflicts: 9, Skipped: 10, FailedWrites: 11, LinkedAsIs: 12},
		Warnings: []adsync.Warning{{UserID: "u1", Field: "title", Rule: "R-FIELD-4", Message: "cut to 50 runes: «Überlänge»"},
			{Rule: "R-FIELD-6", Message: "unknown country"}},
		Skips:       []adsync.Skip{{UserID: "u2", User: "Ann <ann@example.test>", Rule: "R-FIELD-5", Reason: "no last name"}},
		Failures:    []adsync.WriteFailure{{UserID: "u3", ContactID: 30, Kind: adsync.ChangeUpdate, Error: "validation failed: phone"}},
		Held:        []adsync.HeldDeactivation{{UserID: "u4", ContactID: 40, Contact: "Bob Held"}},
		APICalls:    1234,
		FullRead:    true,
		Cursor:      "delta-token/with?odd=chars&é",
		ApprovedRun: 77,
		By:          "jane@msp.example",
		UndoneRun:   78,
	}
}

// requireAllSet checks that the suite's fixture sets every field of a
// record (but those named in except), so that a field added to the record
// type is round-tripped by the suite, not silently dropped by a store.
func requireAllSet(t *testing.T, rec any, except ...string) {
	t.Helper()
	v := reflect.ValueOf(rec)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if !v.Type().Field(i).IsExported() {
			continue // applying state, never stored
		}
		if v.Field(i).IsZero() && !slices.Contains(except, name) {
			t.Fatalf("historytest: the fixture %T leaves field %s unset: a field was added to the type; set it in the fixture so that stores are tested to keep it", rec, name)
		}
	}
}

const ruleUTC = "HistoryStore: times are returned in UTC: Run.Started and Ended, Link.LinkedAt, SyncedAt and MissingSince, Conflict.FirstSeen and LastSeen, Resolution.CreatedAt, Exemption.CreatedAt, ChangeRecord.At and the times of its Unlinked links"

// requireUTC stops the test at a time not in UTC.
func requireUTC(t *testing.T, what string, ts ...time.Time) {
	t.Helper()
	for i, x := range ts {
		if !x.IsZero() && x.Location() != time.UTC {
			conform.Fatal(t, ruleUTC, "%s: time %d of %d is in %v, not UTC", what, i+1, len(ts), x.Location())
		}
	}
}

// normRun gives empty lists one form and times UTC, for comparison.
func normRun(r adsync.Run) adsync.Run {
	r.Started, r.Ended = utc(r.Started), utc(r.Ended)
	r.Warnings, r.Skips, r.Failures, r.Held = nilIfEmpty(r.Warnings), nilIfEmpty(r.Skips), nilIfEmpty(r.Failures), nilIfEmpty(r.Held)
	return r
}

func utc(x time.Time) time.Time {
	if x.IsZero() {
		return time.Time{}
	}
	return x.UTC()
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

func requireRun(t *testing.T, want, got adsync.Run, what string) {
	t.Helper()
	requireUTC(t, what, got.Started, got.Ended)
	require.True(t, want.Started.Equal(got.Started), "%s: Started %v, want %v", what, got.Started, want.Started)
	require.True(t, want.Ended.Equal(got.Ended), "%s: Ended %v, want %v", what, got.Ended, want.Ended)
	require.Equal(t, normRun(want), normRun(got), what)
}

func testRunFields(t *testing.T, s adsync.HistoryStore) {
	want := fullRun("org-a")
	want.Ended, want.Error = at(time.Minute), "an error"
	requireAllSet(t, want, "ID")
	got, err := s.StartRun(t.Context(), want)
	require.NoError(t, err)
	want.ID = got.ID
	requireRun(t, want, got, "StartRun's result")
	got, err = s.Run(t.Context(), "org-a", want.ID)
	require.NoError(t, err)
	requireRun(t, want, got, "Run after StartRun")

	want.Status, want.Ended, want.Error = adsync.StatusHeld, at(90*time.Second+time.Millisecond), "held: 1 deactivation"
	want.Counts.Created++
	want.Warnings = append(want.Warnings, adsync.Warning{Rule: "R-DEACT-4", Message: "guard"})
	want.Cursor = "next-cursor"
	require.NoError(t, s.FinishRun(t.Context(), want))
	got, err = s.Run(t.Context(), "org-a", want.ID)
	require.NoError(t, err)
	requireRun(t, want, got, "Run after FinishRun")
	runs, err := s.Runs(t.Context(), "org-a", 1)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	requireRun(t, want, runs[0], "Runs after FinishRun")

	// A run with nothing but the required fields comes back as given too.
	bare, err := s.StartRun(t.Context(), adsync.Run{OrgID: "org-b", Status: adsync.StatusRunning, Started: t0})
	require.NoError(t, err)
	got, err = s.Run(t.Context(), "org-b", bare.ID)
	require.NoError(t, err)
	requireRun(t, adsync.Run{ID: bare.ID, OrgID: "org-b", Status: adsync.StatusRunning, Started: t0}, got, "a bare run")
}

func testInterrupt(t *testing.T, s adsync.HistoryStore) {
	runningA := startRun(t, s, "org-a", at(0))
	doneA := finish(t, s, startRun(t, s, "org-a", at(time.Minute)), adsync.StatusSucceeded, at(2*time.Minute))
	runningB := startRun(t, s, "org-b", at(3*time.Minute))
	now := at(time.Hour)
	n, err := s.InterruptRuns(t.Context(), now)
	require.NoError(t, err)
	require.Equal(t, 2, n, "two runs were running")
	for _, r := range []adsync.Run{runningA, runningB} {
		got, err := s.Run(t.Context(), r.OrgID, r.ID)
		require.NoError(t, err)
		require.Equal(t, adsync.StatusInterrupted, got.Status, "run %d of %s", r.ID, r.OrgID)
		require.True(t, now.Equal(got.Ended), "run %d: Ended %v, want %v", r.ID, got.Ended, now)
		requireUTC(t, "interrupted run", got.Ended)
	}
	got, err := s.Run(t.Context(), "org-a", doneA.ID)
	require.NoError(t, err)
	requireRun(t, doneA, got, "a finished run is left alone")
	n, err = s.InterruptRuns(t.Context(), at(2*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "nothing is running any more")
}

func link(org, user string, contact int64) adsync.Link {
	return adsync.Link{
		OrgID: org, UserID: user, ContactID: contact, Created: contact%2 == 0, Active: contact%3 != 0,
		Written: map[adsync.Field]string{
			adsync.FirstName: "First " + user, adsync.LastName: "Last", adsync.Email: user + "@example.test",
			adsync.Phone: "+1 555 0100", adsync.CountryID: "237",
		},
		LinkedAt: t0, SyncedAt: at(time.Duration(contact) * time.Millisecond),
		MissingSince: at(time.Duration(contact) * time.Second),
		Anchor:       fmt.Sprintf("0b6f4a2c-0000-4000-8000-%012d", contact),
	}
}

func pending(org, user string, after int64) adsync.Link {
	return adsync.Link{
		OrgID: org, UserID: user, Pending: true, Created: true, Active: true, After: after,
		Written:  map[adsync.Field]string{adsync.FirstName: "Pen", adsync.LastName: "Ding", adsync.Title: "Ünïcode ✓"},
		LinkedAt: t0,
	}
}

func normLink(l adsync.Link) adsync.Link {
	l.LinkedAt, l.SyncedAt, l.MissingSince = utc(l.LinkedAt), utc(l.SyncedAt), utc(l.MissingSince)
	if len(l.Written) == 0 {
		l.Written = nil
	}
	return l
}

// requireLinks checks that the organization's links are want, in any order.
// It compares link by link: a diff of thousands of links would take
// testify minutes to print.
func requireLinks(t *testing.T, s adsync.HistoryStore, org string, want []adsync.Link, what string) {
	t.Helper()
	got, err := s.Links(t.Context(), org)
	require.NoError(t, err, "Links(%s)", org)
	byUser := make(map[string]adsync.Link, len(got))
	for _, l := range got {
		requireUTC(t, what, l.LinkedAt, l.SyncedAt, l.MissingSince)
		_, dup := byUser[l.UserID]
		require.False(t, dup, "%s: Links returned user %s twice", what, l.UserID)
		byUser[l.UserID] = l
	}
	for _, w := range want {
		g, ok := byUser[w.UserID]
		require.True(t, ok, "%s: the link of user %s is missing", what, w.UserID)
		require.Equal(t, normLink(w), normLink(g), "%s: the link of user %s", what, w.UserID)
	}
	require.Equal(t, len(want), len(got), "%s: the number of links", what)
}

func testLinks(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	a, b, p := link("org-a", "user-a", 101), link("org-a", "user-b", 102), pending("org-a", "user-p", 102)
	noOrg := link("", "user-n", 103)
	full := link("org-a", "user-full", 104)
	full.Created, full.Pending, full.Active, full.After = true, true, true, 77
	requireAllSet(t, full)
	require.NoError(t, s.PutLinks(ctx, "org-a", []adsync.Link{a, b, p, noOrg, full}))
	noOrg.OrgID = "org-a"
	requireLinks(t, s, "org-a", []adsync.Link{a, b, p, noOrg, full}, "after the first PutLinks (a link without OrgID takes the call's organization)")
	require.NoError(t, s.DeleteLinks(ctx, "org-a", []string{"user-full"}))

	// The create went through: the pending entry is replaced by a full link.
	done := link("org-a", "user-p", 150)
	done.Created = true
	b.ContactID, b.Written = 222, map[adsync.Field]string{adsync.Email: "new@example.test"}
	require.NoError(t, s.PutLinks(ctx, "org-a", []adsync.Link{done, b}))
	requireLinks(t, s, "org-a", []adsync.Link{a, b, done, noOrg}, "after replacing two links")

	require.NoError(t, s.PutLinks(ctx, "org-a", nil), "PutLinks of no links")
	require.NoError(t, s.DeleteLinks(ctx, "org-a", []string{"user-a", "missing-user", "user-n"}))
	requireLinks(t, s, "org-a", []adsync.Link{b, done}, "after DeleteLinks")
	require.NoError(t, s.DeleteLinks(ctx, "org-a", nil), "DeleteLinks of no users")

	noWritten := link("org-a", "user-empty", 5)
	noWritten.Written = nil
	require.NoError(t, s.PutLinks(ctx, "org-a", []adsync.Link{noWritten}))
	requireLinks(t, s, "org-a", []adsync.Link{b, done, noWritten}, "a link without written values")
}

func testLinksPerOrg(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	a1, b1 := link("org-a", "same-user", 1), link("org-b", "same-user", 2)
	b2 := link("org-b", "other-user", 3)
	require.NoError(t, s.PutLinks(ctx, "org-a", []adsync.Link{a1}))
	require.NoError(t, s.PutLinks(ctx, "org-b", []adsync.Link{b1, b2}))
	requireLinks(t, s, "org-a", []adsync.Link{a1}, "org-a after org-b put the same user id")
	require.NoError(t, s.DeleteLinks(ctx, "org-a", []string{"same-user", "other-user"}))
	requireLinks(t, s, "org-a", nil, "org-a after its delete")
	requireLinks(t, s, "org-b", []adsync.Link{b1, b2}, "org-b after org-a deleted the same user ids")
	requireLinks(t, s, "org-none", nil, "an organization without links")
}

func testLinksAtomic(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	first := link("org-a", "user-1", 1)
	require.NoError(t, s.PutLinks(ctx, "org-a", []adsync.Link{first}))
	changed := link("org-a", "user-1", 99)
	err := s.PutLinks(ctx, "org-a", []adsync.Link{changed, link("org-a", "user-2", 2), link("org-b", "user-3", 3)})
	require.Error(t, err, "PutLinks(org-a) with a link of org-b")
	requireLinks(t, s, "org-a", []adsync.Link{first}, "a failed PutLinks writes nothing")
	requireLinks(t, s, "org-b", nil, "a failed PutLinks writes nothing")
}

func testCopies(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	l := link("org-a", "user-1", 1)
	given := []adsync.Link{l}
	given[0].Written = map[adsync.Field]string{adsync.Email: "a@example.test"}
	require.NoError(t, s.PutLinks(ctx, "org-a", given))
	given[0].Written[adsync.Email] = "changed@example.test"
	got, err := s.Links(ctx, "org-a")
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "a@example.test", got[0].Written[adsync.Email], "changing the map given to PutLinks changed the store")
	got[0].Written[adsync.Email] = "changed@example.test"
	l.Written = map[adsync.Field]string{adsync.Email: "a@example.test"}
	requireLinks(t, s, "org-a", []adsync.Link{l}, "changing the map returned by Links changed the store")

	r, err := s.StartRun(ctx, fullRun("org-a"))
	require.NoError(t, err)
	r.Warnings[0].Message, r.Held[0].Contact = "changed", "changed"
	kept, err := s.Run(ctx, "org-a", r.ID)
	require.NoError(t, err)
	want := fullRun("org-a")
	want.ID = r.ID
	requireRun(t, want, kept, "changing the lists of the run StartRun returned changed the store")
	kept.Skips[0].Reason = "changed"
	again, err := s.Run(ctx, "org-a", r.ID)
	require.NoError(t, err)
	requireRun(t, want, again, "changing the lists of the run Run returned changed the store")
}

func conflict(org, user string, kind adsync.ConflictKind, first time.Time) adsync.Conflict {
	return adsync.Conflict{
		OrgID: org, UserID: user, User: "User " + user + " <" + user + "@example.test>", Kind: kind,
		OtherUsers: []string{user + "-twin", user + "-triplet"}, Candidates: []int64{11, 12},
		Detail: "two active contacts share the email", FirstSeen: first, LastSeen: at(time.Hour),
	}
}

func normConflicts(cs []adsync.Conflict) []adsync.Conflict {
	out := make([]adsync.Conflict, len(cs))
	for i, c := range cs {
		c.FirstSeen, c.LastSeen = utc(c.FirstSeen), utc(c.LastSeen)
		c.OtherUsers, c.Candidates = nilIfEmpty(c.OtherUsers), nilIfEmpty(c.Candidates)
		out[i] = c
	}
	slices.SortFunc(out, func(a, b adsync.Conflict) int { return strings.Compare(a.UserID, b.UserID) })
	return out
}

func requireConflicts(t *testing.T, s adsync.HistoryStore, org string, want []adsync.Conflict, what string) {
	t.Helper()
	got, err := s.Conflicts(t.Context(), org)
	require.NoError(t, err, "Conflicts(%s)", org)
	for _, c := range got {
		requireUTC(t, what, c.FirstSeen, c.LastSeen)
	}
	require.Equal(t, normConflicts(want), normConflicts(got), what)
}

func testConflicts(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	a := conflict("org-a", "user-a", adsync.ConflictMultipleContacts, at(0))
	requireAllSet(t, a)
	b := conflict("org-a", "user-b", adsync.ConflictDuplicateEmail, at(time.Minute))
	b.Candidates = nil
	other := conflict("org-b", "user-a", adsync.ConflictContactLinked, at(0))
	require.NoError(t, s.ReplaceConflicts(ctx, "org-a", []adsync.Conflict{a, b}))
	require.NoError(t, s.ReplaceConflicts(ctx, "org-b", []adsync.Conflict{other}))
	requireConflicts(t, s, "org-a", []adsync.Conflict{a, b}, "the first set")

	// Next run: a stands (FirstSeen kept, LastSeen moves), b cleared, c new.
	a.LastSeen = at(25 * time.Hour)
	a.Candidates = []int64{11, 12, 13}
	c := conflict("org-a", "user-c", adsync.ConflictDuplicateName, at(25*time.Hour))
	c.Candidates = nil
	require.NoError(t, s.ReplaceConflicts(ctx, "org-a", []adsync.Conflict{a, c}))
	requireConflicts(t, s, "org-a", []adsync.Conflict{a, c}, "the second set: user-b cleared itself")

	require.NoError(t, s.ReplaceConflicts(ctx, "org-a", nil))
	requireConflicts(t, s, "org-a", nil, "an empty set clears all")
	requireConflicts(t, s, "org-b", []adsync.Conflict{other}, "another organization's conflicts")
}

func requireResolutions(t *testing.T, s adsync.HistoryStore, org string, want []adsync.Resolution, what string) {
	t.Helper()
	got, err := s.Resolutions(t.Context(), org)
	require.NoError(t, err, "Resolutions(%s)", org)
	requireSame(t, want, got, func(r *adsync.Resolution) *time.Time { return &r.CreatedAt },
		func(a, b adsync.Resolution) int { return strings.Compare(a.UserID, b.UserID) }, what)
}

// requireSame checks that a store returned the records want, in any order
// (sorted by order), with their time (created) in UTC.
func requireSame[T any](t *testing.T, want, got []T, created func(*T) *time.Time, order func(a, b T) int, what string) {
	t.Helper()
	norm := func(rs []T) []T {
		out := slices.Clone(rs)
		for i := range out {
			*created(&out[i]) = utc(*created(&out[i]))
		}
		slices.SortFunc(out, order)
		if out == nil {
			out = []T{}
		}
		return out
	}
	for i := range got {
		requireUTC(t, what, *created(&got[i]))
	}
	require.Equal(t, norm(want), norm(got), what)
}

func testResolutions(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	l := adsync.Resolution{OrgID: "org-a", UserID: "user-1", Action: adsync.ResolveLink, ContactID: 42, By: "admin@msp.test", CreatedAt: at(0)}
	c := adsync.Resolution{OrgID: "org-a", UserID: "user-2", Action: adsync.ResolveCreate, By: "Zoë", CreatedAt: at(time.Minute)}
	o := adsync.Resolution{OrgID: "org-b", UserID: "user-1", Action: adsync.ResolveIgnore, CreatedAt: at(time.Hour)}
	requireAllSet(t, l)
	for _, r := range []adsync.Resolution{l, c, o} {
		require.NoError(t, s.PutResolution(ctx, r))
	}
	requireResolutions(t, s, "org-a", []adsync.Resolution{l, c}, "after three puts")

	l2 := adsync.Resolution{OrgID: "org-a", UserID: "user-1", Action: adsync.ResolveIgnore, By: "other admin", CreatedAt: at(2 * time.Hour)}
	require.NoError(t, s.PutResolution(ctx, l2))
	requireResolutions(t, s, "org-a", []adsync.Resolution{l2, c}, "after replacing user-1's resolution")

	require.NoError(t, s.DeleteResolution(ctx, "org-a", "user-1"))
	requireResolutions(t, s, "org-a", []adsync.Resolution{c}, "after deleting user-1's")
	require.ErrorIs(t, s.DeleteResolution(ctx, "org-a", "user-1"), adsync.ErrNotFound, "deleting it again")
	require.ErrorIs(t, s.DeleteResolution(ctx, "org-c", "user-2"), adsync.ErrNotFound, "deleting in an organization without resolutions")
	requireResolutions(t, s, "org-b", []adsync.Resolution{o}, "another organization's resolutions")
}

func testConcurrent(t *testing.T, s adsync.HistoryStore) {
	const workers, rounds, perRound = 6, 4, 25
	ctx := t.Context()
	var (
		mu     sync.Mutex
		runIDs = map[int64]bool{}
		errs   []error
		wg     sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			org := fmt.Sprintf("org-%d", w%2)
			for r := range rounds {
				run, err := s.StartRun(ctx, adsync.Run{OrgID: org, Status: adsync.StatusRunning, Started: t0})
				if err == nil {
					batch := make([]adsync.Link, perRound)
					for i := range batch {
						batch[i] = link(org, fmt.Sprintf("w%d-r%d-u%d", w, r, i), int64(i+1))
					}
					err = errors.Join(s.PutLinks(ctx, org, batch), finishErr(ctx, s, run))
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if runIDs[run.ID] {
					errs = append(errs, fmt.Errorf("run id %d issued twice", run.ID))
				}
				runIDs[run.ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.Len(t, runIDs, workers*rounds, "distinct run ids")
	for o := range 2 {
		org := fmt.Sprintf("org-%d", o)
		links, err := s.Links(ctx, org)
		require.NoError(t, err)
		require.Equal(t, workers/2*rounds*perRound, len(links), "links of %s put concurrently", org)
		runs, err := s.Runs(ctx, org, 0)
		require.NoError(t, err)
		require.Equal(t, adsync.KeepRuns, len(runs), "kept runs of %s", org)
		for _, r := range runs {
			require.Equal(t, adsync.StatusSucceeded, r.Status, "run %d", r.ID)
		}
	}
}

func finishErr(ctx context.Context, s adsync.HistoryStore, r adsync.Run) error {
	r.Status, r.Ended = adsync.StatusSucceeded, at(time.Second)
	return s.FinishRun(ctx, r)
}

// ManyLinks returns n links of org with distinct user ids and the values a
// sync typically writes; the conformance tests and benchmarks use it. The
// user ids are random version 4 GUIDs, as AD and Graph give them, the same
// for every call: the links of a smaller n are the first of a larger one.
func ManyLinks(org string, n int) []adsync.Link {
	rnd := rand.New(rand.NewPCG(1, 0x61647379))
	out := make([]adsync.Link, n)
	seen := make(map[string]bool, n)
	for i := range out {
		id := guid(rnd)
		for seen[id] {
			id = guid(rnd)
		}
		seen[id] = true
		out[i] = link(org, id, int64(30_000_000+i))
	}
	return out
}

// guid returns a random version 4 GUID in its usual text form.
func guid(rnd *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rnd.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rnd.Uint64())
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func testManyLinks(t *testing.T, s adsync.HistoryStore) {
	links := ManyLinks("org-a", 5000)
	for b := range slices.Chunk(links, adsync.MaxPageSize) {
		require.NoError(t, s.PutLinks(t.Context(), "org-a", b))
	}
	requireLinks(t, s, "org-a", links, "5,000 links")

	big := ManyLinks("org-b", 25_000)
	require.NoError(t, s.PutLinks(t.Context(), "org-b", big))
	requireLinks(t, s, "org-b", big, "25,000 links put in one call")
	for i := range big {
		if i%3 == 0 {
			big[i].ContactID++
			big[i].Written = map[adsync.Field]string{adsync.Email: fmt.Sprintf("new-%d@example.test", i)}
			big[i].Pending = true
		}
	}
	require.NoError(t, s.PutLinks(t.Context(), "org-b", big))
	requireLinks(t, s, "org-b", big, "25,000 links replaced in one call")
	requireLinks(t, s, "org-a", links, "org-a after org-b's large calls")
}

func testLocker(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	lockA, err := s.TryLock(ctx, "org-a")
	require.NoError(t, err, "TryLock(org-a) of a free lock")
	require.NoError(t, lockA.Held(ctx), "Held of a lock just taken")
	_, err = s.TryLock(ctx, "org-a")
	require.ErrorIs(t, err, adsync.ErrRunInProgress, "second TryLock(org-a) while held")
	lockB, err := s.TryLock(ctx, "org-b")
	require.NoError(t, err, "TryLock(org-b) while org-a is held")
	lockA.Unlock()
	require.ErrorIs(t, lockA.Held(ctx), adsync.ErrLockLost, "Held after Unlock")
	lockA.Unlock() // a second Unlock does nothing
	lockA2, err := s.TryLock(ctx, "org-a")
	require.NoError(t, err, "TryLock(org-a) after unlock")
	require.NoError(t, lockA2.Held(ctx), "Held of the new lock after the old one's second Unlock")
	_, err = s.TryLock(ctx, "org-b")
	require.ErrorIs(t, err, adsync.ErrRunInProgress, "TryLock(org-b) still held")
	require.NoError(t, lockB.Held(ctx), "Held of org-b's lock")
	lockA2.Unlock()
	lockB.Unlock()
}
