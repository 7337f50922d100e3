package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/migrate"
	"github.com/psasync/adsync/history/internal/record"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var migrations = func() []migrate.Migration {
	ms, err := migrate.Load(migrationFS, "migrations")
	if err != nil {
		panic("history/postgres: " + err.Error())
	}
	return ms
}()

// SchemaVersion is the schema version this package writes and reads.
var SchemaVersion = migrate.Latest(migrations)

// Defaults of Options.
const (
	DefaultMaxConns       = 8
	DefaultConnectTimeout = 10 * time.Second
)

// Options configure a Store. The zero value (or nil) gives the defaults.
type Options struct {
	// MaxConns bounds the pool of connections used by queries (default:
	// the DSN's pool_max_conns, else DefaultMaxConns). Each held
	// organization lock takes one more connection of its own.
	MaxConns int32
	// ConnectTimeout bounds each connection attempt (default: the DSN's
	// connect_timeout, else DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// Password, when set, is the password to sign in with, instead of one
	// written in the DSN: the DSN can then be shown or kept in a file, and
	// the password come from a secret store (an environment variable, a
	// file). Redacted wherever the Options are printed.
	Password adsync.Secret
	// Logger receives migrations and lock events; nil discards them.
	Logger *slog.Logger
}

// Validate reports a bad option as an *adsync.ConfigError.
func (o *Options) Validate() error {
	switch {
	case o == nil:
	case o.MaxConns < 0:
		return &adsync.ConfigError{Field: "MaxConns", Problem: "must not be negative"}
	case o.ConnectTimeout < 0:
		return &adsync.ConfigError{Field: "ConnectTimeout", Problem: "must not be negative"}
	}
	return nil
}

// Store is the PostgreSQL HistoryStore, for one or several processes
// ("replicas") sharing a database. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	lockCC *pgx.ConnConfig // for the lock connections
	schema string          // current_schema(): part of every lock key
	where  string          // user@host:port/database, for messages
	log    *slog.Logger

	mu    sync.Mutex
	locks map[*pgx.Conn]int64 // lock connections held, with their keys
}

var (
	_ adsync.HistoryStore = (*Store)(nil)
)

// openError is an error of Open whose text is redacted: it never holds
// the DSN's password, and it unwraps only to the sentinel that classifies it
// (not to the driver's error, whose text might).
type openError struct {
	msg  string
	kind error
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() error { return e.kind }

// Open connects to the database of dsn (a postgres:// URL or a key=value
// string, as libpq takes them), checks it can be reached and logged into,
// and brings the schema up to date. The tables live in the connection's
// current schema (set search_path in the DSN to choose one). Errors name
// the server and database but never the password.
//
// Migrations take an advisory lock, so replicas starting at once migrate
// once. A database whose schema is newer than this package's is refused
// and left untouched.
//
// A process calls InterruptRuns once at start (R-RUN-7); runs of
// organizations that another live replica has locked are left running.
func Open(ctx context.Context, dsn string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors; redact again in
		// case a form it does not know slips through.
		return nil, &adsync.ConfigError{Field: "dsn",
			Problem: redact(err.Error(), dsn) + " (want postgres://user:password@host:port/database?sslmode=...)"}
	}
	cc := cfg.ConnConfig
	if !opts.Password.IsZero() {
		cc.Password = opts.Password.Reveal()
	}
	password := cc.Password
	where := fmt.Sprintf("%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
	// Options win; then what the DSN says (pool_max_conns,
	// connect_timeout); then the defaults.
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(dsn, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	switch {
	case opts.ConnectTimeout > 0:
		cc.ConnectTimeout = opts.ConnectTimeout
	case cc.ConnectTimeout == 0:
		cc.ConnectTimeout = DefaultConnectTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lockCC := cc.Copy()
	// The server notices a lock holder whose machine vanished within about
	// a minute, and drops its session and locks.
	lockCC.RuntimeParams["tcp_keepalives_idle"] = "30"
	lockCC.RuntimeParams["tcp_keepalives_interval"] = "10"
	lockCC.RuntimeParams["tcp_keepalives_count"] = "3"
	lockCC.RuntimeParams["application_name"] = "adsync-lock"
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = "adsync"
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, connectError(where, password, err)
	}
	s := &Store{pool: pool, lockCC: lockCC, where: where, log: log, locks: map[*pgx.Conn]int64{}}
	if err := s.start(ctx, password); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) start(ctx context.Context, password string) error {
	var schema *string
	if err := s.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return connectError(s.where, password, err)
	}
	if schema == nil {
		return &openError{kind: adsync.ErrInvalidConfig,
			msg: fmt.Sprintf("history/postgres: %s: the search_path names no existing schema: create the schema or fix search_path in the DSN", s.where)}
	}
	s.schema = *schema
	return s.migrate(ctx)
}

// connectError classifies a failure to connect and redacts its text.
func connectError(where, password string, err error) error {
	kind, hint := adsync.ErrUnavailable, "check the host and port, and that the server is running"
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "28P01" || pe.Code == "28000":
			kind, hint = adsync.ErrUnauthorized, "check the user and password"
		case pe.Code == "3D000":
			kind, hint = adsync.ErrInvalidConfig, "create the database or fix its name"
		case strings.HasPrefix(pe.Code, "42"):
			kind, hint = adsync.ErrInvalidConfig, "check the role's privileges on the database"
		}
	}
	switch {
	case untrustedCertificate(err):
		kind, hint = adsync.ErrTLS, "the server's certificate is not trusted: give the CA that signed it with sslrootcert=FILE in the DSN, and with sslmode=verify-full check that the DSN's host is a name on the certificate"
	case strings.Contains(err.Error(), "server refused TLS connection"):
		kind, hint = adsync.ErrTLS, "the server does not offer TLS but the DSN's sslmode requires it: enable ssl on the server, or lower sslmode (prefer; disable only on a trusted network)"
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		kind, hint = adsync.ErrUnavailable, "the server did not answer in time"
	}
	return &openError{kind: kind,
		msg: fmt.Sprintf("history/postgres: cannot use %s: %s: %s", where, oneLine(redact(err.Error(), password)), hint)}
}

// untrustedCertificate reports a failed check of the server's certificate.
func untrustedCertificate(err error) bool {
	_, _, ok := adsync.CertificateFailure(err)
	return ok
}

// oneLine joins the lines of a multi-line driver error (one per address
// tried) for a log line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ; ")), " ")
}

// redact removes secret from s, and a URL's password if secret is a DSN.
func redact(s, secret string) string {
	if u, err := url.Parse(secret); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			s = strings.ReplaceAll(s, pw, "xxxxx")
		}
	}
	if secret != "" && !strings.Contains(secret, "://") {
		s = strings.ReplaceAll(s, secret, "xxxxx")
	}
	return s
}

// key is the advisory lock key of name within the store's schema, so that
// two adsync installations in two schemas of one database never collide.
func (s *Store) key(kind, name string) int64 {
	sum := sha256.Sum256([]byte("adsync\x00" + s.schema + "\x00" + kind + "\x00" + name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// migrate applies the missing migrations under a transaction-scoped
// advisory lock: a second replica migrating at once waits, then finds the
// schema current.
func (s *Store) migrate(ctx context.Context) error {
	latest := migrate.Latest(migrations)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.key("migrate", "")); err != nil {
			return s.wrap("migrate", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('adsync_schema') IS NOT NULL`).Scan(&exists); err != nil {
			return s.wrap("migrate", err)
		}
		if !exists { // a new database
			if _, err := tx.Exec(ctx, `CREATE TABLE adsync_schema (version integer NOT NULL);
				INSERT INTO adsync_schema VALUES (0)`); err != nil {
				return s.migrationError("adsync_schema", err)
			}
		}
		var version int
		if err := tx.QueryRow(ctx, `SELECT version FROM adsync_schema`).Scan(&version); err != nil {
			return s.wrap("migrate", err)
		}
		if version > latest {
			return &openError{kind: adsync.ErrInvalidConfig,
				msg: fmt.Sprintf("history/postgres: %s (schema %q) has history schema version %d, newer than this adsync knows (%d): upgrade adsync",
					s.where, s.schema, version, latest)}
		}
		for _, m := range migrations[version:] {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return s.migrationError(m.Name, err)
			}
			if strings.HasSuffix(m.Name, batchMigration) {
				if err := convertChanges(ctx, tx); err != nil {
					return s.wrap("migration "+m.Name+": move the change log into batch rows", err)
				}
			}
			s.log.Info("history schema migrated", "database", s.where, "schema", s.schema, "migration", m.Name)
		}
		if version < latest {
			if _, err := tx.Exec(ctx, `UPDATE adsync_schema SET version=$1`, latest); err != nil {
				return s.wrap("migrate", err)
			}
		}
		return nil
	})
}

// migrationError explains the usual cause of a failed migration: a role
// that may not create tables in the schema (the default for the public
// schema since PostgreSQL 15).
func (s *Store) migrationError(name string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" {
		return &openError{kind: adsync.ErrInvalidConfig,
			msg: fmt.Sprintf("history/postgres: %s: the role may not create the history tables in schema %q (%s): grant it CREATE on the schema, or set search_path in the DSN to a schema it owns",
				s.where, s.schema, pe.Message)}
	}
	return s.wrap("migration "+name, err)
}

func (s *Store) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var oe *openError
	if errors.As(err, &oe) {
		return err
	}
	if unavailable(err) {
		err = fmt.Errorf("%w: %w", adsync.ErrUnavailable, err)
	}
	if tooLongKey(err) {
		// A user or organization id longer than an index entry may be
		// (about 2.7 KB): no retry will fit it.
		return fmt.Errorf("history/postgres: %s: an organization or user id is longer than PostgreSQL can index (2,704 bytes at most): %w: %w", what, record.ErrInvalid, err)
	}
	if badText(err) {
		// The contract's text is valid UTF-8 without NUL: the caller
		// broke it, and retrying will not help.
		return fmt.Errorf("history/postgres: %s: a text is not valid UTF-8 without NUL: %w: %w", what, record.ErrInvalid, err)
	}
	return fmt.Errorf("history/postgres: %s: %w", what, err)
}

// badText reports PostgreSQL refusing a text: invalid UTF-8 or a NUL
// (22021), or a NUL escaped in JSON (22P05).
func badText(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05")
}

// tooLongKey reports an index entry over PostgreSQL's limit (54000,
// program_limit_exceeded): a key column longer than about 2.7 KB.
func tooLongKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "54000"
}

// unavailable reports an error of the server or the connection, not of the
// statement: worth retrying later, and systemic for a run.
func unavailable(err error) bool {
	var (
		pe *pgconn.PgError
		ce *pgconn.ConnectError
	)
	switch {
	case errors.As(err, &ce), pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return true
	case errors.As(err, &pe):
		// 08: connection exception; 53: insufficient resources; 57P0x:
		// the server is shutting down, restarting or not yet accepting.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") || strings.HasPrefix(pe.Code, "57P0")
	}
	return false
}

// TryLock takes the organization's lock, which holds across every process
// using the same database and schema: a session-level advisory lock
// (pg_try_advisory_lock) on a connection of its own, held until Unlock. If
// the holder dies, its session ends and PostgreSQL releases the lock (for
// a vanished machine, within about a minute: TCP keepalives). If the lock
// connection breaks, the lock is gone with its session: Held then returns
// ErrLockLost, and the Syncer stops writing before its next batch.
func (s *Store) TryLock(ctx context.Context, orgID string) (adsync.Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("history/postgres: lock organization %q: %w", orgID, err)
	}
	conn, err := pgx.ConnectConfig(ctx, s.lockCC)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil { // the caller gave up: say so, as every method does
			return nil, fmt.Errorf("history/postgres: lock organization %q: %w (connecting)", orgID, ctxErr)
		}
		return nil, fmt.Errorf("history/postgres: lock organization %q: %w", orgID, connectError(s.where, s.lockCC.Password, err))
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", s.key("org", orgID)).Scan(&ok); err != nil || !ok {
		conn.Close(context.Background())
		if err != nil {
			return nil, s.wrap(fmt.Sprintf("lock organization %q", orgID), err)
		}
		return nil, fmt.Errorf("history/postgres: lock organization %q: %w", orgID, adsync.ErrRunInProgress)
	}
	key := s.key("org", orgID)
	s.mu.Lock()
	s.locks[conn] = key
	s.mu.Unlock()
	return &pgLock{s: s, conn: conn, key: key, orgID: orgID}, nil
}

// pgLock is an organization lock of a Store: an advisory lock of the
// session of conn.
type pgLock struct {
	s     *Store
	conn  *pgx.Conn
	key   int64
	orgID string
	mu    sync.Mutex // a pgx.Conn serves one query at a time
	once  sync.Once
	done  bool
}

// Held asks the lock's own session whether it still holds the advisory
// lock: an answer proves the session, and so the lock, is alive; a broken
// connection, or a session that lost it, is ErrLockLost.
func (l *pgLock) Held(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return fmt.Errorf("history/postgres: organization %q: %w: it was unlocked", l.orgID, adsync.ErrLockLost)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// pg_locks shows a bigint key as its two unsigned 32-bit halves
	// (classid, objid) with objsubid 1; objsubid 2 is the two-integer form
	// of pg_advisory_lock, another lock with the same bits.
	var held bool
	err := l.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
		AND granted AND objsubid = 1 AND classid = $1::bigint::oid AND objid = $2::bigint::oid)`,
		int64(uint64(l.key)>>32), int64(uint32(l.key))).Scan(&held)
	switch {
	case err != nil:
		return fmt.Errorf("history/postgres: organization %q: %w: its lock connection failed: %w", l.orgID, adsync.ErrLockLost, err)
	case !held:
		return fmt.Errorf("history/postgres: organization %q: %w: the session no longer holds it", l.orgID, adsync.ErrLockLost)
	}
	return nil
}

// Unlock releases the lock; later calls do nothing.
func (l *pgLock) Unlock() {
	l.once.Do(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
		l.s.release(l.conn)
	})
}

// release unlocks and ends a lock connection. The explicit unlock matters:
// the server frees a session's locks only some time after the client
// closed it, and the next TryLock, here or in another replica, must find
// the lock free.
func (s *Store) release(conn *pgx.Conn) {
	s.mu.Lock()
	key, held := s.locks[conn]
	delete(s.locks, conn)
	s.mu.Unlock()
	if held {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// If this fails the connection is broken, and its session's end
		// frees the lock.
		_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", key)
		conn.Close(ctx)
	}
}

// Close releases the organization locks still held and closes the pool.
func (s *Store) Close() {
	s.mu.Lock()
	conns := make([]*pgx.Conn, 0, len(s.locks))
	for c := range s.locks {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		s.release(c)
	}
	s.pool.Close()
}

// String names the database and schema, never the password.
func (s *Store) String() string {
	return fmt.Sprintf("postgres history %s (schema %q)", s.where, s.schema)
}

// Schema is the PostgreSQL schema holding the tables.
func (s *Store) Schema() string { return s.schema }
