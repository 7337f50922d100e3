package sourcetest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/sourcetest"
)

// A directory of two users, read in full, then incrementally after a
// change.
func ExampleMemory() {
	ctx := context.Background()
	dir := sourcetest.NewMemory(nil)
	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = "Ann", "Lee", "ann@example.com"
	ann := dir.Add(adsync.User{Enabled: true, Values: v})
	v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = "Bob", "Ray", "bob@example.com"
	dir.Add(adsync.User{Enabled: true, Values: v})

	print := func(page []adsync.User) error {
		for _, u := range page {
			fmt.Println(u.Label())
		}
		return nil
	}
	cursor, err := dir.UsersSince(ctx, "", print) // a full read
	if err != nil {
		panic(err)
	}

	var title adsync.Values
	title[adsync.Title] = "CEO"
	if err := dir.Update(ann, adsync.NewFieldSet(adsync.Title), title); err != nil {
		panic(err)
	}
	fmt.Println("changed since the full read:")
	if _, err := dir.UsersSince(ctx, cursor, print); err != nil {
		panic(err)
	}
	// Output:
	// Ann Lee <ann@example.com> (00000000-0000-0000-0000-000000000001)
	// Bob Ray <bob@example.com> (00000000-0000-0000-0000-000000000002)
	// changed since the full read:
	// Ann Lee <ann@example.com> (00000000-0000-0000-0000-000000000001)
}

// A read that fails after its first page, as when the connection to the
// directory drops: the Syncer must not take it as complete (R-DEACT-3).
func ExampleMemory_FailReadAfter() {
	dir := sourcetest.NewMemory(&sourcetest.MemoryOptions{PageSize: 1})
	dir.Add(adsync.User{Enabled: true})
	dir.Add(adsync.User{Enabled: true})
	dir.FailReadAfter(1, nil)

	pages := 0
	err := dir.Users(context.Background(), func([]adsync.User) error { pages++; return nil })
	fmt.Println(pages, errors.Is(err, adsync.ErrUnavailable))
	// Output:
	// 1 true
}

// How a DirectorySource implementation runs the suite: in its own test,
// with a harness that controls a fresh, empty scope per subtest (for a real
// directory, a new group or OU, removed in t.Cleanup). Here a decorator of
// the in-memory source runs it with MemoryHarness.
func ExampleRun() {
	testConformance := func(t *testing.T) {
		sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
			m := sourcetest.NewMemory(nil)
			return sourcetest.MemoryHarness(m, loggingSource{m})
		})
	}
	_ = testConformance // in a _test.go file: func TestConformance(t *testing.T) { ... }
}

// loggingSource stands for a decorator of a DirectorySource: it must keep
// the source's contract.
type loggingSource struct{ adsync.DirectorySource }
