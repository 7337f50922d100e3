package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// Change records are inserted changesPerInsert rows per statement, as links
// are.
const (
	changesPerInsert = 100
	changeColumns    = 15
)

func insertChanges(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR REPLACE INTO changes (run_id, seq, org_id, kind, rule, user_id, user_label, contact_id, contact_label,
		fields, active, resolution, outcome, error, at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// PutChanges records the run's change records and puts the links, in one
// transaction.
func (s *Store) PutChanges(ctx context.Context, orgID string, runID int64, changes []adsync.ChangeRecord, links []adsync.Link) error {
	if err := record.CheckChanges(orgID, runID, changes); err != nil {
		return err
	}
	fields := make([][]byte, len(changes))
	for i := range changes {
		var err error
		if fields[i], err = record.EncodeFields(changes[i].Fields); err != nil {
			return fmt.Errorf("%w (change %d of run %d of organization %q)", err, changes[i].Seq, runID, orgID)
		}
	}
	what := fmt.Sprintf("put %d changes of run %d of organization %q", len(changes), runID, orgID)
	return s.inTx(ctx, what, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id=? AND org_id=?`, runID, orgID).Scan(&one)
		if err == sql.ErrNoRows {
			return fmt.Errorf("history/sqlite: %s: %w", what, adsync.ErrNotFound)
		}
		if err != nil {
			return s.wrap(what, err)
		}
		var (
			stmt     *sql.Stmt
			stmtRows int
			args     = make([]any, 0, changesPerInsert*changeColumns)
		)
		defer func() {
			if stmt != nil {
				stmt.Close()
			}
		}()
		for lo := 0; lo < len(changes); lo += changesPerInsert {
			chunk := changes[lo:min(lo+changesPerInsert, len(changes))]
			if len(chunk) != stmtRows {
				if stmt != nil {
					stmt.Close()
				}
				if stmt, err = tx.PrepareContext(ctx, insertChanges(len(chunk))); err != nil {
					return s.wrap(what, err)
				}
				stmtRows = len(chunk)
			}
			args = args[:0]
			for i := range chunk {
				c := &chunk[i]
				var active any
				if c.Active != nil {
					active = *c.Active
				}
				args = append(args, runID, c.Seq, orgID, string(c.Kind), c.Rule, c.UserID, c.User, c.ContactID, c.Contact,
					nullText(fields[lo+i]), active, c.Resolution, string(c.Outcome), c.Error, micros(c.At))
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return s.wrap(what, err)
			}
		}
		if len(links) == 0 {
			return nil
		}
		return s.putLinks(ctx, tx, what, orgID, links)
	})
}

// Changes returns a page of the organization's change records.
func (s *Store) Changes(ctx context.Context, orgID string, f adsync.ChangeFilter) ([]adsync.ChangeRecord, error) {
	q := strings.Builder{}
	q.WriteString(`SELECT run_id, seq, kind, rule, user_id, user_label, contact_id, contact_label, fields, active, resolution,
		outcome, error, at FROM changes WHERE org_id=?`)
	args := []any{orgID}
	if f.RunID != 0 {
		q.WriteString(` AND run_id=?`)
		args = append(args, f.RunID)
	}
	if f.UserID != "" {
		q.WriteString(` AND user_id=?`)
		args = append(args, f.UserID)
	}
	if f.ContactID != 0 {
		q.WriteString(` AND contact_id=?`)
		args = append(args, f.ContactID)
	}
	if f.Kind != "" {
		q.WriteString(` AND kind=?`)
		args = append(args, string(f.Kind))
	}
	if f.AfterRun != 0 {
		q.WriteString(` AND (run_id > ? OR (run_id = ? AND seq > ?))`)
		args = append(args, f.AfterRun, f.AfterRun, f.AfterSeq)
	}
	q.WriteString(` ORDER BY run_id, seq LIMIT ?`)
	args = append(args, f.PageSize())
	what := fmt.Sprintf("changes of organization %q", orgID)
	rows, err := s.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	defer rows.Close()
	var out []adsync.ChangeRecord
	for rows.Next() {
		c := adsync.ChangeRecord{OrgID: orgID}
		var (
			fields sql.RawBytes
			active sql.NullBool
			at     sql.NullInt64
		)
		if err := rows.Scan(&c.RunID, &c.Seq, &c.Kind, &c.Rule, &c.UserID, &c.User, &c.ContactID, &c.Contact, &fields, &active,
			&c.Resolution, &c.Outcome, &c.Error, &at); err != nil {
			return nil, s.wrap(what, err)
		}
		if c.Fields, err = record.DecodeFields(fields); err != nil {
			return nil, s.wrap(fmt.Sprintf("%s, run %d change %d", what, c.RunID, c.Seq), err)
		}
		if active.Valid {
			c.Active = &active.Bool
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, s.wrap(what, rows.Err())
}
