package adsync

import (
	"context"
	"time"
)

// KeepRuns is how many runs the history keeps per organization (R-RUN-3).
const KeepRuns = 10

// HistoryStore persists what the sync must remember between runs. It is
// one value composed of named parts, the way hashicorp/raft composes its
// stores, so that an implementer sees the pieces: runs (RunStore), links
// and the create journal (LinkStore), each run's change log (ChangeStore),
// conflicts and resolutions (ConflictStore), the contacts exempt from
// deactivation (ExemptionStore), the per-organization lock (Locker), and
// the state of alerts (NoticeStore).
//
// Implementations: history.NewMemory (tests, one process), history/sqlite
// (the embedded default) and history/postgres (several replicas).
// history/historytest is the conformance suite every implementation must
// pass; it checks what these comments promise and nothing more.
//
// Every method must be safe for concurrent use, and each call must be atomic:
// it takes effect whole or not at all. Records are kept whole: every field
// given comes back as given (an empty list or map may come back nil), times
// to at least the millisecond, a zero time staying zero (for runs:
// R-RUN-4). Records are copies both ways: the caller may keep and modify
// what it gave and what it got. Times are returned in UTC. Text is valid
// UTF-8 without NUL bytes (the Syncer cleans what the directory returns),
// and is stored and returned byte for byte, however long. An organization
// the store holds nothing of reads as empty, not as an error. A method
// called with a cancelled context returns an error wrapping ctx.Err() and
// changes nothing.
//
// The lock is part of the contract, not a capability found by type
// assertion: a store wrapped in another type must forward it, or the
// wrapper does not compile as a HistoryStore.
type HistoryStore interface {
	RunStore
	LinkStore
	ChangeStore
	ConflictStore
	ExemptionStore
	Locker
	NoticeStore
}

// RunStore keeps the runs of each organization: the newest KeepRuns. The
// Syncer reads the kept runs back: the guard's window (R-DEACT-6) sums
// their Counts.Deactivated by Started, so a restarted process or another
// replica sees the same sum.
type RunStore interface {
	// StartRun records a new run (r.Status is StatusRunning) and returns it
	// with its ID set. IDs grow with each call within a store, whatever
	// the organization.
	StartRun(ctx context.Context, r Run) (Run, error)
	// FinishRun replaces the run with r.ID by r, and removes the
	// organization's runs beyond the newest KeepRuns (by ID) with their
	// change logs (R-RUN-3), in one atomic step. An error wrapping
	// ErrNotFound if the organization keeps no run r.ID (never issued,
	// pruned, or another organization's).
	FinishRun(ctx context.Context, r Run) error
	// Runs returns the organization's runs, newest (highest ID) first, at
	// most limit (limit ≤ 0: all kept).
	Runs(ctx context.Context, orgID string, limit int) ([]Run, error)
	// Run returns one run; an error wrapping ErrNotFound if the
	// organization does not keep it (never issued, pruned, or another
	// organization's).
	Run(ctx context.Context, orgID string, id int64) (Run, error)
	// InterruptRuns marks every run still StatusRunning, of every
	// organization whose lock no live process holds, as StatusInterrupted
	// with Ended set to now, and returns how many it marked (R-RUN-7). A
	// process calls it at start, before it runs anything.
	InterruptRuns(ctx context.Context, now time.Time) (int, error)
}

// LinkStore keeps the links between directory users and contacts, and the
// create journal (links with Pending set, R-RUN-7). Link.MissingSince is
// the grace period's clock (R-DEACT-7): kept here, it survives restarts
// and is shared by replicas.
type LinkStore interface {
	// Links returns the organization's links, pending ones included, in no
	// particular order, each with OrgID set.
	Links(ctx context.Context, orgID string) ([]Link, error)
	// PutLinks inserts or replaces links, keyed by (OrgID, UserID), any
	// number of them in one call (the Syncer saves in batches of
	// MaxPageSize; a first run may save more at once). All links of one
	// call are of organization orgID: a link with an empty OrgID is of it,
	// and a link naming another organization fails the call, which then
	// writes none of its links.
	PutLinks(ctx context.Context, orgID string, links []Link) error
	// DeleteLinks removes the links of the given users; missing ones are
	// ignored.
	DeleteLinks(ctx context.Context, orgID string, userIDs []string) error
}

// ConflictStore keeps the open conflicts of each organization and the
// admins' resolutions (R-CONF-5, R-CONF-6).
type ConflictStore interface {
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

// Locker is the per-organization lock of a HistoryStore: one run per
// organization at a time (R-RUN-5). A store shared by several processes
// must hold it across them; a store that only one process can open (such
// as history.Memory) may hold it within that process and say so.
type Locker interface {
	// TryLock takes the organization's lock without waiting. It returns an
	// error wrapping ErrRunInProgress if another holder has it. A lock
	// whose holder died must be released by the store within seconds (a
	// session-bound lock, or a lease that short), so that the run after a
	// crash is not refused.
	TryLock(ctx context.Context, orgID string) (Lock, error)
}

// Lock is a held organization lock.
type Lock interface {
	// Held returns nil when the store can show that the lock is still
	// held, and an error wrapping ErrLockLost when it cannot (its
	// connection broke, its lease ran out): another process may hold the
	// organization now. The Syncer calls it before each batch of writes and
	// stops the run on an error.
	Held(ctx context.Context) error
	// Unlock releases the lock: Held then returns an error wrapping
	// ErrLockLost, and the organization can be locked again. It may be
	// called more than once.
	Unlock()
}

// NoticeStore keeps the state of alerts (package notify), so that an alert
// is sent once per change of state rather than once per run, across
// restarts and across the replicas sharing the store.
type NoticeStore interface {
	// ClaimNotice records that the notice key of the organization (orgID
	// "" for a notice of no one organization, such as the API budget) is
	// now in state, and reports the state recorded before ("" if none) and
	// whether the caller is to send it. It is to send when the state
	// differs from the recorded one, or when it is the same, remindAfter
	// is positive and the last send was at least remindAfter before now;
	// a send records now as the time of the last send. Otherwise nothing
	// changes. Of concurrent calls that would each send, exactly one is
	// told to: the claim is a compare-and-set. key and state must not be
	// empty: a call with either empty returns an error and records
	// nothing.
	ClaimNotice(ctx context.Context, orgID, key, state string, now time.Time, remindAfter time.Duration) (prev string, send bool, err error)
}
