package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// micros encodes a time as Unix microseconds, NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros decodes what micros encoded, in UTC.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// inTx runs fn in one write transaction.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("history/sqlite: %s: %w", what, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("history/sqlite: %s: %w", what, err)
	}
	return nil
}

func (s *Store) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	// Another process kept the file locked past the busy timeout.
	var se *msqlite.Error
	if errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED) {
		return fmt.Errorf("history/sqlite: %s: %w: %w (another process holds %s)", what, adsync.ErrUnavailable, err, s.path)
	}
	return fmt.Errorf("history/sqlite: %s: %w", what, err)
}

// StartRun records r with the next ID.
func (s *Store) StartRun(ctx context.Context, r adsync.Run) (adsync.Run, error) {
	if err := record.CheckOrg("start run", r.OrgID); err != nil {
		return adsync.Run{}, err
	}
	r = record.CopyRun(r)
	details, err := record.EncodeRunDetails(&r)
	if err != nil {
		return adsync.Run{}, err
	}
	err = s.w.QueryRowContext(ctx, `INSERT INTO runs (org_id, trigger_kind, status, started, ended, error, api_calls, tls,
		full_read, read_cursor, approved_run, details) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		r.OrgID, string(r.Trigger), string(r.Status), micros(r.Started), micros(r.Ended), r.Error, r.APICalls, string(r.TLS),
		r.FullRead, r.Cursor, r.ApprovedRun, details).Scan(&r.ID)
	if err != nil {
		return adsync.Run{}, s.wrap(fmt.Sprintf("start run of organization %q", r.OrgID), err)
	}
	return r, nil
}

// FinishRun replaces the run and keeps the organization's newest KeepRuns,
// in one transaction.
func (s *Store) FinishRun(ctx context.Context, r adsync.Run) error {
	r = record.CopyRun(r)
	details, err := record.EncodeRunDetails(&r)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("finish run %d of organization %q", r.ID, r.OrgID)
	return s.inTx(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET trigger_kind=?, status=?, started=?, ended=?, error=?, api_calls=?, tls=?,
			full_read=?, read_cursor=?, approved_run=?, details=? WHERE id=? AND org_id=?`,
			string(r.Trigger), string(r.Status), micros(r.Started), micros(r.Ended), r.Error, r.APICalls, string(r.TLS),
			r.FullRead, r.Cursor, r.ApprovedRun, details, r.ID, r.OrgID)
		if err != nil {
			return s.wrap(what, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("history/sqlite: %s: %w", what, adsync.ErrNotFound)
		}
		// The change logs of the pruned runs go with them.
		_, err = tx.ExecContext(ctx, `DELETE FROM change_batches WHERE org_id=? AND run_id IN (SELECT id FROM runs WHERE org_id=? AND id NOT IN
			(SELECT id FROM runs WHERE org_id=? ORDER BY id DESC LIMIT ?))`, r.OrgID, r.OrgID, r.OrgID, adsync.KeepRuns)
		if err != nil {
			return s.wrap(what, err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM runs WHERE org_id=? AND id NOT IN
			(SELECT id FROM runs WHERE org_id=? ORDER BY id DESC LIMIT ?)`, r.OrgID, r.OrgID, adsync.KeepRuns)
		if err != nil {
			return s.wrap(what, err)
		}
		// The run's links go from the log into links (see links.go).
		return s.foldAll(ctx, tx, what, r.OrgID)
	})
}

const runColumns = `id, org_id, trigger_kind, status, started, ended, error, api_calls, tls, full_read, read_cursor, approved_run, details`

func scanRun(row interface{ Scan(...any) error }) (adsync.Run, error) {
	var (
		r              adsync.Run
		started, ended sql.NullInt64
		details        []byte
	)
	err := row.Scan(&r.ID, &r.OrgID, &r.Trigger, &r.Status, &started, &ended, &r.Error, &r.APICalls, &r.TLS,
		&r.FullRead, &r.Cursor, &r.ApprovedRun, &details)
	if err != nil {
		return r, err
	}
	r.Started, r.Ended = fromMicros(started), fromMicros(ended)
	return r, record.DecodeRunDetails(&r, details)
}

// Runs returns the organization's runs, newest first, at most limit.
func (s *Store) Runs(ctx context.Context, orgID string, limit int) ([]adsync.Run, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	what := fmt.Sprintf("runs of organization %q", orgID)
	rows, err := s.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE org_id=? ORDER BY id DESC LIMIT ?`, orgID, limit)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	defer rows.Close()
	var out []adsync.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, s.wrap(what, err)
		}
		out = append(out, r)
	}
	return out, s.wrap(what, rows.Err())
}

// Run returns one kept run.
func (s *Store) Run(ctx context.Context, orgID string, id int64) (adsync.Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id=? AND org_id=?`, id, orgID))
	if err == sql.ErrNoRows {
		err = adsync.ErrNotFound
	}
	return r, s.wrap(fmt.Sprintf("run %d of organization %q", id, orgID), err)
}

// InterruptRuns marks the runs still running as interrupted (R-RUN-7),
// except those of organizations whose lock a live process holds (TryLock):
// such a run is going on in another process sharing the file, not dead.
func (s *Store) InterruptRuns(ctx context.Context, now time.Time) (int, error) {
	const what = "interrupt runs"
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT org_id FROM runs WHERE status='running'`)
	if err != nil {
		return 0, s.wrap(what, err)
	}
	var orgs []string
	for rows.Next() {
		var org string
		if err := rows.Scan(&org); err != nil {
			rows.Close()
			return 0, s.wrap(what, err)
		}
		orgs = append(orgs, org)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.wrap(what, err)
	}
	n := 0
	err = s.inTx(ctx, what, func(tx *sql.Tx) error {
		for _, org := range orgs {
			// Holding the lock while marking keeps a run from starting
			// in between and being marked at birth.
			lk, err := s.TryLock(ctx, org)
			if err != nil {
				s.log.Info("run left running: its organization is locked by a live process", "org", org)
				continue
			}
			res, err := tx.ExecContext(ctx, `UPDATE runs SET status='interrupted', ended=? WHERE status='running' AND org_id=?`, micros(now), org)
			if err == nil {
				var m int64
				m, err = res.RowsAffected()
				n += int(m)
			}
			defer lk.Unlock()
			if err != nil {
				return s.wrap(what, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Conflicts returns the organization's open conflicts.
func (s *Store) Conflicts(ctx context.Context, orgID string) ([]adsync.Conflict, error) {
	what := fmt.Sprintf("conflicts of organization %q", orgID)
	rows, err := s.r.QueryContext(ctx, `SELECT user_id, label, kind, other_users, candidates, detail, first_seen, last_seen
		FROM conflicts WHERE org_id=?`, orgID)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	defer rows.Close()
	var out []adsync.Conflict
	for rows.Next() {
		c := adsync.Conflict{OrgID: orgID}
		var (
			others, candidates []byte
			first, last        sql.NullInt64
		)
		if err := rows.Scan(&c.UserID, &c.User, &c.Kind, &others, &candidates, &c.Detail, &first, &last); err != nil {
			return nil, s.wrap(what, err)
		}
		if c.OtherUsers, err = record.DecodeList[string](others); err != nil {
			return nil, s.wrap(what, err)
		}
		if c.Candidates, err = record.DecodeList[int64](candidates); err != nil {
			return nil, s.wrap(what, err)
		}
		c.FirstSeen, c.LastSeen = fromMicros(first), fromMicros(last)
		out = append(out, c)
	}
	return out, s.wrap(what, rows.Err())
}

// ReplaceConflicts makes cs the organization's open conflicts (R-CONF-5),
// in one transaction.
func (s *Store) ReplaceConflicts(ctx context.Context, orgID string, cs []adsync.Conflict) error {
	if err := record.CheckOrg("replace conflicts", orgID); err != nil {
		return err
	}
	type enc struct{ others, candidates []byte }
	encoded := make([]enc, len(cs))
	for i, c := range cs {
		if err := record.CheckMember("replace conflicts", orgID, c.OrgID, c.UserID); err != nil {
			return err
		}
		var err1, err2 error
		encoded[i].others, err1 = record.EncodeList(c.OtherUsers)
		encoded[i].candidates, err2 = record.EncodeList(c.Candidates)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("history/sqlite: replace conflicts of organization %q: %v %v", orgID, err1, err2)
		}
	}
	what := fmt.Sprintf("replace conflicts of organization %q", orgID)
	return s.inTx(ctx, what, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM conflicts WHERE org_id=?`, orgID); err != nil {
			return s.wrap(what, err)
		}
		for i, c := range cs {
			_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO conflicts
				(org_id, user_id, label, kind, other_users, candidates, detail, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?)`,
				orgID, c.UserID, c.User, string(c.Kind), nullText(encoded[i].others), nullText(encoded[i].candidates), c.Detail,
				micros(c.FirstSeen), micros(c.LastSeen))
			if err != nil {
				return s.wrap(what+", user "+c.UserID, err)
			}
		}
		return nil
	})
}

// Resolutions returns the organization's resolutions.
func (s *Store) Resolutions(ctx context.Context, orgID string) ([]adsync.Resolution, error) {
	what := fmt.Sprintf("resolutions of organization %q", orgID)
	rows, err := s.r.QueryContext(ctx, `SELECT user_id, action, contact_id, resolved_by, created_at FROM resolutions WHERE org_id=?`, orgID)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	defer rows.Close()
	var out []adsync.Resolution
	for rows.Next() {
		r := adsync.Resolution{OrgID: orgID}
		var created sql.NullInt64
		if err := rows.Scan(&r.UserID, &r.Action, &r.ContactID, &r.By, &created); err != nil {
			return nil, s.wrap(what, err)
		}
		r.CreatedAt = fromMicros(created)
		out = append(out, r)
	}
	return out, s.wrap(what, rows.Err())
}

// PutResolution inserts or replaces the user's resolution.
func (s *Store) PutResolution(ctx context.Context, r adsync.Resolution) error {
	if err := record.CheckResolution(r); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO resolutions (org_id, user_id, action, contact_id, resolved_by, created_at)
		VALUES (?,?,?,?,?,?)`, r.OrgID, r.UserID, string(r.Action), r.ContactID, r.By, micros(r.CreatedAt))
	return s.wrap(fmt.Sprintf("put resolution for user %q of organization %q", r.UserID, r.OrgID), err)
}

// DeleteResolution removes the user's resolution; ErrNotFound if none.
func (s *Store) DeleteResolution(ctx context.Context, orgID, userID string) error {
	what := fmt.Sprintf("delete resolution for user %q of organization %q", userID, orgID)
	res, err := s.w.ExecContext(ctx, `DELETE FROM resolutions WHERE org_id=? AND user_id=?`, orgID, userID)
	if err != nil {
		return s.wrap(what, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("history/sqlite: %s: %w", what, adsync.ErrNotFound)
	}
	return nil
}
