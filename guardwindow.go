package adsync

import (
	"fmt"
	"time"
)

// guardWindow is what the guard's window (Guard.Window, R-DEACT-6) saw in
// the organization's kept runs: the deactivations they applied within the
// window before this run.
type guardWindow struct {
	// window is Guard.Window; 0: no window.
	window time.Duration
	// deactivated sums Counts.Deactivated of the runs started within the
	// window.
	deactivated int
	// partial: every kept run started within the window, so older runs of
	// the window may have been pruned (R-RUN-3) and the sum is a lower
	// bound.
	partial bool
}

// windowOf sums the deactivations of the kept runs (newest first) that
// started within window before now. The runs are the window's record: each
// run keeps Counts.Deactivated (R-RUN-4), so the history needs no new
// state, and a restarted process or another replica sees the same sum.
func windowOf(runs []Run, window time.Duration, now time.Time) guardWindow {
	gw := guardWindow{window: window}
	if window <= 0 {
		return gw
	}
	from := now.Add(-window)
	in := 0
	for _, r := range runs {
		if r.Started.Before(from) {
			continue
		}
		in++
		gw.deactivated += r.Counts.Deactivated
	}
	gw.partial = in > 0 && in >= KeepRuns && len(runs) >= KeepRuns
	return gw
}

// holds reports whether n deactivations now, added to those of the
// window, exceed the guard's limit. The limit is taken of the active links
// at the window's start (those active now plus those the window
// deactivated), so that a leak of 20 % a run is judged against the
// organization it started from, not the one it left.
func (gw guardWindow) holds(g Guard, n, active int) (bool, int) {
	if gw.window <= 0 || n == 0 {
		return false, 0
	}
	limit := g.Limit(active + gw.deactivated)
	return gw.deactivated+n > limit, limit
}

// String is the plan's line about the window.
func (gw GuardWindow) String() string {
	s := fmt.Sprintf("guard window %s [R-DEACT-6]: %d deactivated by the runs of the window and %d by this run, limit %d",
		gw.Window, gw.Deactivated, gw.ThisRun, gw.Limit)
	if gw.Held {
		s += ": held"
	}
	if gw.Partial {
		s += fmt.Sprintf(" (the %d kept runs all fall in the window: older ones of it were pruned and are not counted)", KeepRuns)
	}
	return s
}

// GuardWindow is what the guard's window saw (R-DEACT-6), as the plan
// shows it.
type GuardWindow struct {
	Window time.Duration `json:"window"`
	// Deactivated are the deactivations of the runs started within the
	// window, before this one.
	Deactivated int `json:"deactivated"`
	// ThisRun are this run's deactivations, before the guard.
	ThisRun int `json:"thisRun"`
	// Limit is the guard's limit over the window.
	Limit int `json:"limit"`
	// Held: the window's sum exceeded the limit and the run's
	// deactivations are held.
	Held bool `json:"held,omitempty"`
	// Partial: the kept runs do not cover the whole window (R-RUN-3).
	Partial bool `json:"partial,omitempty"`
}
