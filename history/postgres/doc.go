// Package postgres is the adsync.HistoryStore for PostgreSQL (through
// pgx v5), for one process or several replicas sharing a database.
//
// Tables (prefixed adsync_) live in the connection's current schema; set
// search_path in the DSN to choose one. The schema is versioned (table
// adsync_schema) and migrated by Open from numbered SQL files embedded in
// the binary, under an advisory lock so that replicas starting at once
// migrate once. Open refuses a schema newer than this package's, leaving it
// untouched. Every method is one transaction (or one statement). Links are
// saved with array parameters unnested by the server, a few thousand per
// statement. Times are kept to the microsecond (timestamptz), in UTC.
//
// The per-organization lock (TryLock) is a session-level advisory lock held
// on a connection of its own, which holds across replicas; when a holder
// dies its session ends and the server frees the lock (TCP keepalives
// bound that to about a minute for a machine that vanished). Lock keys are
// derived from the schema and organization, so installations in different
// schemas never block each other. InterruptRuns leaves alone the runs of
// organizations locked by a live replica. Session locks need a real
// session: connect to PostgreSQL directly or through a session-pooling
// proxy, not through PgBouncer in transaction mode.
//
// Errors of Open name the user, server and database, never the password,
// and wrap adsync.ErrUnavailable (unreachable), adsync.ErrUnauthorized
// (login refused) or adsync.ErrInvalidConfig (a malformed DSN, a missing
// database or schema, a newer schema).
package postgres
