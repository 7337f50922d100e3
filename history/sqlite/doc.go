// Package sqlite is the embedded, default adsync.HistoryStore: one SQLite
// file, through modernc.org/sqlite (pure Go, no cgo).
//
// The file is in WAL mode with synchronous=FULL, so a committed write (a
// create journal entry, R-RUN-7) survives a crash of the process or of the
// machine; foreign keys are on and writers wait BusyTimeout for each other.
// Every method is one transaction. The schema is versioned (PRAGMA
// user_version) and migrated by Open from numbered SQL files embedded in
// the binary; the file is marked as adsync's with PRAGMA application_id.
// Open refuses, leaving it untouched, a file that is not an adsync history
// database and one whose schema is newer than this package's.
//
// Times are kept to the microsecond, in UTC. The file, its WAL and shared
// memory files and the lock files are its owner's only (0600, 0700 for the
// lock directory): the history holds names and emails.
//
// Links are saved by appending to a log table, whatever their user ids,
// and folded into the links table in key order when a run finishes
// (FinishRun) or the log grows large: random user ids (GUIDs) would
// otherwise rewrite a page of the links table per link on every save.
//
// Processes: the file may be shared by several processes on one machine
// (not over a network file system). The per-organization lock (TryLock)
// is an flock(2) on a file in "<database>.locks", which holds across
// processes and is dropped by the kernel when its holder dies; on systems
// without flock it holds within the process only. For replicas on several
// machines use history/postgres.
//
// A process calls InterruptRuns once at start (R-RUN-7); runs of
// organizations locked by another live process are left running.
package sqlite
