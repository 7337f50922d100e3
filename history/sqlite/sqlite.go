package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/migrate"
)

// ApplicationID marks a SQLite file as an adsync history database
// (PRAGMA application_id, "adsy").
const ApplicationID = 0x61647379

// DefaultBusyTimeout is how long a write waits by default for another
// connection's write to finish.
const DefaultBusyTimeout = 5 * time.Second

//go:embed migrations/*.sql
var migrationFS embed.FS

var migrations = func() []migrate.Migration {
	ms, err := migrate.Load(migrationFS, "migrations")
	if err != nil {
		panic("history/sqlite: " + err.Error())
	}
	return ms
}()

// SchemaVersion is the schema version this package writes and reads.
var SchemaVersion = migrate.Latest(migrations)

// Options configure a Store. The zero value (or nil) gives the defaults.
type Options struct {
	// BusyTimeout is how long a write waits for another process's write to
	// the same file before it fails. Default DefaultBusyTimeout.
	BusyTimeout time.Duration
	// Logger receives migrations and lock events; nil discards them.
	Logger *slog.Logger
}

// Validate reports a bad option as an *adsync.ConfigError.
func (o *Options) Validate() error {
	if o != nil && o.BusyTimeout < 0 {
		return &adsync.ConfigError{Field: "BusyTimeout", Problem: "must not be negative"}
	}
	return nil
}

// Store is the SQLite HistoryStore. It is safe for concurrent use. Writes
// go through one connection (SQLite has one writer at a time); reads use a
// pool of read-only connections, which WAL mode lets run beside a write.
type Store struct {
	path string
	w, r *sql.DB
	log  *slog.Logger

	foldAt int // see foldAt; tests lower it

	putStmt, delStmt *sql.Stmt // appending linksPerInsert rows to the link log
	dropStmt         *sql.Stmt // dropJournaled's
	headStmt         *sql.Stmt // headQuery
	clog             clogStmts // the change log's statements (changes.go)

	mu        sync.Mutex
	locks     map[string]func()           // held organization locks: their release
	journaled map[string]map[string]int64 // per organization, its last create journal's rows (see dropJournaled)
}

var (
	_ adsync.HistoryStore = (*Store)(nil)
)

// sqliteMagic starts every SQLite 3 database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// Open opens the history database at path, creating it if it does not
// exist, and brings its schema up to date. It refuses, without changing the
// file, a file that is not an adsync history database and one written by a
// newer version of adsync.
//
// The process that opens a store should call InterruptRuns before it runs
// anything (R-RUN-7): a run left running by a process that died is then
// marked interrupted.
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, &adsync.ConfigError{Field: "path", Problem: fmt.Sprintf("%q: want the path of a database file", path)}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("history/sqlite: %s: %w", path, err)
	}
	if err := checkHeader(abs); err != nil {
		return nil, err
	}
	if err := ownerOnly(abs); err != nil {
		return nil, err
	}
	busy := opts.BusyTimeout
	if busy == 0 {
		busy = DefaultBusyTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	uri := "file:" + (&url.URL{Path: abs}).EscapedPath() +
		"?_busy_timeout=" + strconv.FormatInt(busy.Milliseconds(), 10) +
		"&_foreign_keys=1&_synchronous=FULL"
	w, err := sql.Open("sqlite", uri+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("history/sqlite: open %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1) // SQLite has one writer; queue here, not on SQLITE_BUSY
	w.SetConnMaxIdleTime(0)
	s := &Store{path: abs, w: w, log: log, foldAt: foldAt, locks: map[string]func(){}, journaled: map[string]map[string]int64{}}
	// Two processes opening a new file at once: switching it to WAL takes
	// an exclusive lock that SQLite does not wait for, so the loser tries
	// again, within the busy timeout.
	for deadline := time.Now().Add(busy); ; {
		err := s.migrate(ctx)
		if err == nil {
			break
		}
		if !isBusy(err) || time.Now().After(deadline) {
			w.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			w.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := s.prepareLog(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.prepareChangeLog(ctx); err != nil {
		s.closeStmts()
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", uri+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("history/sqlite: open %s: %w", abs, err)
	}
	s.r = r
	return s, nil
}

// checkHeader refuses an existing, non-empty file that is not SQLite,
// before SQLite gets to open (and possibly change) it.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("history/sqlite: %s: %w", path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return fmt.Errorf("history/sqlite: %s is a directory: give the path of the history file (e.g. %s): %w",
			path, filepath.Join(path, "adsync-history.db"), adsync.ErrInvalidConfig)
	}
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	if n == 0 && (err == io.EOF || err == nil) {
		return nil // an empty file is an empty database
	}
	if !bytes.Equal(head[:n], sqliteMagic) {
		return fmt.Errorf("history/sqlite: %s is not an adsync history database (not a SQLite file); give the path of a new or existing history file: %w",
			path, adsync.ErrInvalidConfig)
	}
	return nil
}

// ownerOnly creates the database file, or closes up an existing one (and
// the WAL and shared memory files beside it), so that only its owner can
// read it: it holds names and emails. SQLite creates the WAL and shared
// memory files with the database file's mode. The modes are set with
// chmod, so the umask does not matter.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("history/sqlite: %s: %w", path, err)
	}
	f.Close()
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		if err := restrictMode(name, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("history/sqlite: %w", err)
		}
	}
	return nil
}

// restrictMode removes from the file name the permission bits mode does
// not have.
func restrictMode(name string, mode os.FileMode) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&^mode != 0 {
		return os.Chmod(name, perm&mode)
	}
	return nil
}

// migrate checks that the file is ours (or empty) and not newer, then
// applies the missing migrations and switches the file to WAL mode. The
// checks happen before anything is written.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return s.openErr(err)
	}
	defer conn.Close()
	var appID, version, tables int
	err = conn.QueryRowContext(ctx, `SELECT (SELECT application_id FROM pragma_application_id),
		(SELECT user_version FROM pragma_user_version),
		(SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%')`).Scan(&appID, &version, &tables)
	if err != nil {
		return s.openErr(err)
	}
	latest := migrate.Latest(migrations)
	switch {
	case appID != ApplicationID && (appID != 0 || tables > 0):
		return fmt.Errorf("history/sqlite: %s is not an adsync history database (a SQLite file of another application); give the path of a new or existing history file: %w",
			s.path, adsync.ErrInvalidConfig)
	case version > latest:
		return s.checkVersion(version, latest)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		return s.openErr(err)
	}
	if version == latest {
		return nil
	}
	tx, err := conn.BeginTx(ctx, nil) // immediate: excludes a process migrating at once
	if err != nil {
		return s.openErr(err)
	}
	defer tx.Rollback()
	// Another process may have migrated meanwhile.
	if err := tx.QueryRowContext(ctx, "SELECT user_version FROM pragma_user_version").Scan(&version); err != nil {
		return s.openErr(err)
	}
	if version >= latest {
		return s.checkVersion(version, latest)
	}
	for _, m := range migrations[version:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("history/sqlite: %s: migration %s: %w", s.path, m.Name, err)
		}
		if isBatchMigration(m.Name) {
			if err := convertChanges(ctx, tx); err != nil {
				return fmt.Errorf("history/sqlite: %s: migration %s: move the change log into batch rows: %w", s.path, m.Name, err)
			}
		}
		s.log.Info("history schema migrated", "path", s.path, "migration", m.Name)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id=%d; PRAGMA user_version=%d", ApplicationID, latest)); err != nil {
		return s.openErr(err)
	}
	if err := tx.Commit(); err != nil {
		return s.openErr(err)
	}
	return nil
}

// checkVersion refuses a schema newer than this package's.
func (s *Store) checkVersion(version, latest int) error {
	if version > latest {
		return fmt.Errorf("history/sqlite: %s has schema version %d, newer than this adsync knows (%d): upgrade adsync, or open a copy made before the upgrade: %w",
			s.path, version, latest, adsync.ErrInvalidConfig)
	}
	return nil
}

func (s *Store) openErr(err error) error {
	return fmt.Errorf("history/sqlite: open %s: %w", s.path, err)
}

// String names the database file.
func (s *Store) String() string { return "sqlite history " + s.path }

// Path is the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close releases the organization locks still held and closes the
// database.
func (s *Store) Close() error {
	s.mu.Lock()
	for org, release := range s.locks {
		release()
		delete(s.locks, org)
	}
	s.mu.Unlock()
	s.closeStmts()
	return errors.Join(s.r.Close(), s.w.Close())
}

// closeStmts closes the statements prepared on the writer.
func (s *Store) closeStmts() {
	for _, st := range []*sql.Stmt{s.putStmt, s.delStmt, s.dropStmt, s.headStmt, s.clog.run, s.clog.mark, s.clog.marked, s.clog.overlap, s.clog.insert, s.clog.rewrite} {
		if st != nil {
			st.Close()
		}
	}
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked"))
}
