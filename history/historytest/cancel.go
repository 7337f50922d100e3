package historytest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/conform"
)

const ruleCancel = "HistoryStore: a method called with a cancelled context returns an error wrapping ctx.Err() (errors.Is) and changes nothing"

// state is what a store holds for one organization, to compare before and
// after the calls that must change nothing.
type state struct {
	runs        []adsync.Run
	links       []adsync.Link
	conflicts   []adsync.Conflict
	resolutions []adsync.Resolution
}

func readState(t *testing.T, s adsync.HistoryStore, org string) state {
	t.Helper()
	ctx := t.Context()
	var (
		st                     state
		err1, err2, err3, err4 error
	)
	st.runs, err1 = s.Runs(ctx, org, 0)
	st.links, err2 = s.Links(ctx, org)
	st.conflicts, err3 = s.Conflicts(ctx, org)
	st.resolutions, err4 = s.Resolutions(ctx, org)
	conform.Must(t, errors.Join(err1, err2, err3, err4), "read the organization's history")
	return st
}

func testCancelled(t *testing.T, s adsync.HistoryStore) {
	live := t.Context()
	running := startRun(t, s, "org-a", t0)
	done := finish(t, s, startRun(t, s, "org-a", at(time.Minute)), adsync.StatusSucceeded, at(2*time.Minute))
	conform.Must(t, s.PutLinks(live, "org-a", []adsync.Link{link("org-a", "user-1", 1)}), "PutLinks")
	conform.Must(t, s.ReplaceConflicts(live, "org-a", []adsync.Conflict{conflict("org-a", "user-1", adsync.ConflictDuplicateName, t0)}), "ReplaceConflicts")
	conform.Must(t, s.PutResolution(live, adsync.Resolution{OrgID: "org-a", UserID: "user-1", Action: adsync.ResolveIgnore, CreatedAt: t0}), "PutResolution")
	before := readState(t, s, "org-a")

	ctx, cancel := context.WithCancel(live)
	cancel()
	changed := done
	changed.Status, changed.Error = adsync.StatusFailed, "changed"
	var lock adsync.Lock
	calls := []struct {
		name string
		call func() error
	}{
		{"StartRun", func() error {
			_, err := s.StartRun(ctx, adsync.Run{OrgID: "org-a", Status: adsync.StatusRunning, Started: t0})
			return err
		}},
		{"FinishRun", func() error { return s.FinishRun(ctx, changed) }},
		{"Runs", func() error { _, err := s.Runs(ctx, "org-a", 0); return err }},
		{"Run", func() error { _, err := s.Run(ctx, "org-a", running.ID); return err }},
		{"InterruptRuns", func() error { _, err := s.InterruptRuns(ctx, at(time.Hour)); return err }},
		{"Links", func() error { _, err := s.Links(ctx, "org-a"); return err }},
		{"PutLinks", func() error { return s.PutLinks(ctx, "org-a", []adsync.Link{link("org-a", "user-2", 2)}) }},
		{"PutLinks (large)", func() error { return s.PutLinks(ctx, "org-a", ManyLinks("org-a", 25_000)) }},
		{"DeleteLinks", func() error { return s.DeleteLinks(ctx, "org-a", []string{"user-1"}) }},
		{"Conflicts", func() error { _, err := s.Conflicts(ctx, "org-a"); return err }},
		{"ReplaceConflicts", func() error { return s.ReplaceConflicts(ctx, "org-a", nil) }},
		{"Resolutions", func() error { _, err := s.Resolutions(ctx, "org-a"); return err }},
		{"PutResolution", func() error {
			return s.PutResolution(ctx, adsync.Resolution{OrgID: "org-a", UserID: "user-2", Action: adsync.ResolveIgnore, CreatedAt: t0})
		}},
		{"DeleteResolution", func() error { return s.DeleteResolution(ctx, "org-a", "user-1") }},
		{"TryLock", func() error { var err error; lock, err = s.TryLock(ctx, "org-a"); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			conform.Broken(t, ruleCancel, "%s with a cancelled context returned %v, want an error wrapping context.Canceled", c.name, err)
		}
	}
	if lock != nil {
		lock.Unlock()
	}
	after := readState(t, s, "org-a")
	if len(after.runs) != len(before.runs) {
		conform.Broken(t, ruleCancel, "%d runs before the cancelled calls, %d after", len(before.runs), len(after.runs))
	}
	for i := range min(len(after.runs), len(before.runs)) {
		if a, b := after.runs[i], before.runs[i]; a.ID != b.ID || a.Status != b.Status || a.Error != b.Error || !a.Ended.Equal(b.Ended) {
			conform.Broken(t, ruleCancel, "run %d changed: %s %q ended %v, was %s %q ended %v", b.ID, a.Status, a.Error, a.Ended, b.Status, b.Error, b.Ended)
		}
	}
	if len(after.links) != len(before.links) || len(after.conflicts) != len(before.conflicts) || len(after.resolutions) != len(before.resolutions) {
		conform.Broken(t, ruleCancel, "links, conflicts, resolutions: %d, %d, %d before the cancelled calls, %d, %d, %d after",
			len(before.links), len(before.conflicts), len(before.resolutions), len(after.links), len(after.conflicts), len(after.resolutions))
	}
	l, err := s.TryLock(live, "org-a")
	if err != nil {
		conform.Broken(t, ruleCancel, "TryLock after a TryLock with a cancelled context: %v: the cancelled call kept the lock", err)
	} else {
		l.Unlock()
	}
}
