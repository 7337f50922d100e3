package adsync

import (
	"context"
	"time"
)

// KeepRuns is how many runs the history keeps per organization (R-RUN-3).
const KeepRuns = 10

// HistoryStore persists what the sync must remember between runs: runs,
// links, conflicts and resolutions.
//
// Implementations: history.NewMemory (tests), history/sqlite (the embedded
// default) and history/postgres (several replicas). history/historytest is
// the conformance suite every implementation must pass.
//
// Every method must be safe for concurrent use, and each call must be atomic:
// it takes effect whole or not at all. Records are returned as copies; the
// caller may keep and modify them.
type HistoryStore interface {
	// StartRun records a new run (r.Status is StatusRunning) and returns it
	// with its ID set. IDs grow with each call within a store.
	StartRun(ctx context.Context, r Run) (Run, error)
	// FinishRun replaces the run with r.ID by r, and removes the
	// organization's runs beyond the newest KeepRuns (R-RUN-3). ErrNotFound
	// if no such run exists.
	FinishRun(ctx context.Context, r Run) error
	// Runs returns the organization's runs, newest (highest ID) first, at
	// most limit (limit ≤ 0: all kept).
	Runs(ctx context.Context, orgID string, limit int) ([]Run, error)
	// Run returns one run; ErrNotFound if it is not kept.
	Run(ctx context.Context, orgID string, id int64) (Run, error)
	// InterruptRuns marks every run still StatusRunning, of every
	// organization, as StatusInterrupted with Ended set to now, and returns
	// how many it marked (R-RUN-7). A process calls it at start, before it
	// runs anything.
	InterruptRuns(ctx context.Context, now time.Time) (int, error)

	// Links returns the organization's links, pending ones included, in no
	// particular order.
	Links(ctx context.Context, orgID string) ([]Link, error)
	// PutLinks inserts or replaces links, keyed by (OrgID, UserID). All
	// links of one call are of one organization.
	PutLinks(ctx context.Context, orgID string, links []Link) error
	// DeleteLinks removes the links of the given users; missing ones are
	// ignored.
	DeleteLinks(ctx context.Context, orgID string, userIDs []string) error

	// Conflicts returns the organization's open conflicts.
	Conflicts(ctx context.Context, orgID string) ([]Conflict, error)
	// ReplaceConflicts makes cs the organization's open conflicts: those not
	// in cs clear themselves (R-CONF-5). The caller sets FirstSeen from the
	// previous set.
	ReplaceConflicts(ctx context.Context, orgID string, cs []Conflict) error

	// Resolutions returns the organization's resolutions.
	Resolutions(ctx context.Context, orgID string) ([]Resolution, error)
	// PutResolution inserts or replaces the resolution for (OrgID, UserID).
	PutResolution(ctx context.Context, r Resolution) error
	// DeleteResolution removes the user's resolution; ErrNotFound if there
	// is none.
	DeleteResolution(ctx context.Context, orgID, userID string) error
}

// Locker is an optional capability of a HistoryStore: a per-organization
// lock that holds across processes sharing the store, so that several
// replicas never run one organization at once (R-RUN-5). Without it the
// Syncer locks within its own process only.
type Locker interface {
	// TryLock takes the organization's lock without waiting. It returns an
	// error wrapping ErrRunInProgress if another holder has it. The returned
	// unlock releases it; a lock whose holder died must be released by the
	// store (a lease expiry or a session-bound lock).
	TryLock(ctx context.Context, orgID string) (unlock func(), err error)
}
