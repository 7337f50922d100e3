// Package sourcetest is the conformance suite for implementations of
// adsync.DirectorySource (and adsync.IncrementalSource), and an in-memory
// source for tests and demos.
//
// An implementation's test calls Run with a harness that controls a
// directory: it adds users, changes them, takes them out of scope and
// disables them, and hands the suite a source reading that scope. Each
// failure says which rule of the DirectorySource contract was broken, in the
// style of testing/slogtest.
//
//	func TestConformance(t *testing.T) {
//		sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
//			h := newLDAPHarness(t) // a fresh, empty group for this subtest
//			t.Cleanup(h.deleteGroupAndUsers)
//			return h
//		})
//	}
//
// The incremental subtests run when the source is an
// adsync.IncrementalSource, and are skipped otherwise.
//
// Memory is an in-memory adsync.IncrementalSource that passes the suite. It
// has fault injection for the Syncer's tests: a read that fails after some
// pages (R-DEACT-3), a failing Check, expired incremental cursors.
package sourcetest
