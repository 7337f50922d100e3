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

// Bits of the flags column.
const (
	flagResolution = 1 // Change.Resolution
	flagLabelID    = 2 // the label ended with " (user_id)", stored without it
	flagLabelNames = 4 // the rest of the label is fieldsLabel of the fields, stored as ""
)

// storedLabel returns the label as stored, and its flags: a user's label
// ends with its id (adsync.User.Label), which the row holds already.
func storedLabel(c *adsync.ChangeRecord) (string, int) {
	flags := 0
	if c.Resolution {
		flags |= flagResolution
	}
	label := c.User
	if l, ok := strings.CutSuffix(label, " ("+c.UserID+")"); ok {
		label, flags = l, flags|flagLabelID
	}
	if label != "" && label == fieldsLabel(c.Fields) {
		label, flags = "", flags|flagLabelNames
	}
	return label, flags
}

// fieldsLabel is a user's label as the fields of its create give it,
// "first last <email>" (adsync.User.Label without a display name): a
// create's label is most often exactly that, and need not be stored twice.
func fieldsLabel(fs []adsync.FieldChange) string {
	var first, last, email string
	for _, f := range fs {
		switch f.Field {
		case adsync.FirstName:
			first = f.After
		case adsync.LastName:
			last = f.After
		case adsync.Email:
			email = f.After
		}
	}
	var parts []string
	for _, p := range []string{first, last} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if email != "" {
		parts = append(parts, "<"+email+">")
	}
	return strings.Join(parts, " ")
}

func insertChanges(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO changes (run_id, seq, org_id, kind, rule, user_id, user_label, contact_id, contact_label,
		fields, active, flags, outcome, error, at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	// An upsert updates the row in place where REPLACE would delete and
	// insert it: a record that is not simply written is put twice (before
	// the write, then with its outcome), and replacing left the pages half
	// empty.
	b.WriteString(` ON CONFLICT (run_id, seq) DO UPDATE SET kind=excluded.kind, rule=excluded.rule, user_id=excluded.user_id,
		user_label=excluded.user_label, contact_id=excluded.contact_id, contact_label=excluded.contact_label,
		fields=excluded.fields, active=excluded.active, flags=excluded.flags, outcome=excluded.outcome,
		error=excluded.error, at=excluded.at`)
	return b.String()
}

// PutChanges records the run's change records and puts the links, in one
// transaction.
func (s *Store) PutChanges(ctx context.Context, orgID string, runID int64, changes []adsync.ChangeRecord, links []adsync.Link) error {
	return s.putChanges(ctx, orgID, runID, adsync.Written{}, changes, links)
}

// PutOutcomes marks the batch's records written with one UPDATE through
// the key index (only the outcome and time change: no other index is
// touched, and the row keeps its size), then records the other outcomes
// and puts the links, in one transaction.
func (s *Store) PutOutcomes(ctx context.Context, orgID string, runID int64, w adsync.Written, changes []adsync.ChangeRecord, links []adsync.Link) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("history/sqlite: put outcomes of run %d of organization %q: %w", runID, orgID, err)
	}
	return s.putChanges(ctx, orgID, runID, w, changes, links)
}

func (s *Store) putChanges(ctx context.Context, orgID string, runID int64, w adsync.Written, changes []adsync.ChangeRecord, links []adsync.Link) error {
	if err := record.CheckChanges(orgID, runID, changes); err != nil {
		return err
	}
	fields := make([][]byte, len(changes))
	for i := range changes {
		var err error
		if fields[i], err = record.EncodeFieldsCompact(changes[i].Fields); err != nil {
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
		if w.To > w.From {
			if _, err := tx.ExecContext(ctx, `UPDATE changes SET outcome=?, at=? WHERE run_id=? AND seq>=? AND seq<? AND outcome=?`,
				string(adsync.OutcomeWritten), micros(w.At), runID, w.From, w.To, string(adsync.OutcomeUnknown)); err != nil {
				return s.wrap(what, err)
			}
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
				if len(chunk) == changesPerInsert { // prepared once: parsing it cost 0.15 s of a 400k first run
					stmt = tx.StmtContext(ctx, s.changeStmt)
				} else if stmt, err = tx.PrepareContext(ctx, insertChanges(len(chunk))); err != nil {
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
				label, flags := storedLabel(c)
				args = append(args, runID, c.Seq, orgID, string(c.Kind), c.Rule, c.UserID, label, c.ContactID, c.Contact,
					nullBlob(fields[lo+i]), active, flags, string(c.Outcome), c.Error, micros(c.At))
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

// nullBlob stores bytes as a BLOB, NULL when there are none.
func nullBlob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// Changes returns a page of the organization's change records.
func (s *Store) Changes(ctx context.Context, orgID string, f adsync.ChangeFilter) ([]adsync.ChangeRecord, error) {
	q := strings.Builder{}
	q.WriteString(`SELECT run_id, seq, kind, rule, user_id, user_label, contact_id, contact_label, fields, active, flags,
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
		// A row value: SQLite starts the key index's scan there.
		q.WriteString(` AND (run_id, seq) > (?, ?)`)
		args = append(args, f.AfterRun, f.AfterSeq)
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
			flags  int
			at     sql.NullInt64
		)
		if err := rows.Scan(&c.RunID, &c.Seq, &c.Kind, &c.Rule, &c.UserID, &c.User, &c.ContactID, &c.Contact, &fields, &active,
			&flags, &c.Outcome, &c.Error, &at); err != nil {
			return nil, s.wrap(what, err)
		}
		if c.Fields, err = record.DecodeFieldsCompact(fields); err != nil {
			return nil, s.wrap(fmt.Sprintf("%s, run %d change %d", what, c.RunID, c.Seq), err)
		}
		c.Resolution = flags&flagResolution != 0
		if flags&flagLabelNames != 0 {
			c.User = fieldsLabel(c.Fields)
		}
		if flags&flagLabelID != 0 {
			c.User += " (" + c.UserID + ")"
		}
		if active.Valid {
			c.Active = &active.Bool
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, s.wrap(what, rows.Err())
}
