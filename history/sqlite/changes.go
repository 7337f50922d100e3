package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// The change log is kept in batch rows (migration 0006, record.EncodeBatch):
// one row per call of at most record.BatchRecords records, a record living
// in exactly one row. A call appends a row for the records no row holds,
// and rewrites the rows holding the others; PutOutcomes marks the rows of
// its range with one UPDATE of their fixed-size mark, which SQLite
// overwrites in place (the row keeps its size). A row's mark applies to
// its records when it is read; a row rewritten gets its mark applied
// first, so a mark only ever covers records put before it.

// noMark is the mark of a row that has none.
var noMark = record.EncodeMark(adsync.Written{})

// clogStmts are the change log's statements, prepared once on the writer
// (prepareChangeLog): a daily run's call runs five of them, and preparing
// each at every call cost more than running it.
type clogStmts struct {
	run     *sql.Stmt // the run is kept: its organization and id
	mark    *sql.Stmt // mark the rows without a mark: the mark, organization, run, To, From
	marked  *sql.Stmt // the rows in a range marked otherwise: organization, run, To, From, the mark
	overlap *sql.Stmt // the rows that may hold seqs: organization, run, last, first
	insert  *sql.Stmt // a new row
	rewrite *sql.Stmt // a row's new mark, keys and records, by rowid
}

const batchColumns = `SELECT rowid, mark, records FROM change_batches `

func (s *Store) prepareChangeLog(ctx context.Context) error {
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&s.clog.run, `SELECT 1 FROM runs WHERE org_id=? AND id=?`},
		{&s.clog.mark, `UPDATE change_batches SET mark=? WHERE org_id=? AND run_id=? AND first_seq<? AND last_seq>=? AND mark=?`},
		{&s.clog.marked, batchColumns + `WHERE org_id=? AND run_id=? AND first_seq<? AND last_seq>=? AND mark<>?`},
		{&s.clog.overlap, batchColumns + `WHERE org_id=? AND run_id=? AND first_seq<=? AND last_seq>=?`},
		{&s.clog.insert, `INSERT INTO change_batches (org_id, run_id, first_seq, last_seq, mark, keys, records) VALUES (?,?,?,?,?,?,?)`},
		{&s.clog.rewrite, `UPDATE change_batches SET mark=?, keys=?, records=? WHERE rowid=?`},
	} {
		var err error
		if *p.st, err = s.w.PrepareContext(ctx, p.q); err != nil {
			return s.openErr(err)
		}
	}
	return nil
}

// PutChanges records the run's change records and puts the links, in one
// transaction.
func (s *Store) PutChanges(ctx context.Context, orgID string, runID int64, changes []adsync.ChangeRecord, links []adsync.Link) error {
	return s.putChanges(ctx, orgID, runID, adsync.Written{}, changes, links)
}

// PutOutcomes marks the batch rows of the range (one UPDATE of their mark),
// then records the other outcomes and puts the links, in one transaction.
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
	recs := record.LastBySeq(changes)
	what := fmt.Sprintf("put %d changes of run %d of organization %q", len(changes), runID, orgID)
	return s.inTx(ctx, what, func(tx *sql.Tx) error {
		var one int
		err := tx.StmtContext(ctx, s.clog.run).QueryRowContext(ctx, orgID, runID).Scan(&one)
		if err == sql.ErrNoRows {
			return fmt.Errorf("history/sqlite: %s: %w", what, adsync.ErrNotFound)
		}
		if err != nil {
			return s.wrap(what, err)
		}
		if w.To > w.From {
			if err := s.mark(ctx, tx, orgID, runID, w); err != nil {
				return s.wrap(what, err)
			}
		}
		if len(recs) > 0 {
			if err := s.placeChanges(ctx, tx, orgID, runID, recs); err != nil {
				return s.wrap(what, err)
			}
		}
		if len(links) == 0 {
			return nil
		}
		return s.putLinks(ctx, tx, what, orgID, links)
	})
}

// mark marks the run's rows overlapping w's range: those without a mark by
// setting it; those marked before (rare: a range marked twice) by applying
// both marks to their records.
func (s *Store) mark(ctx context.Context, tx *sql.Tx, orgID string, runID int64, w adsync.Written) error {
	mk := record.EncodeMark(w)
	if _, err := tx.StmtContext(ctx, s.clog.mark).ExecContext(ctx, mk, orgID, runID, w.To, w.From, noMark); err != nil {
		return err
	}
	rows, err := s.loadBatches(ctx, tx, s.clog.marked, orgID, runID, w.To, w.From, mk)
	if err != nil {
		return err
	}
	for i := range rows {
		record.ApplyMark(rows[i].Recs, w)
	}
	return s.rewrite(ctx, tx, rows)
}

// placeChanges stores records (in seq order, one per seq): in the rows
// that hold their seqs, the others in new rows.
func (s *Store) placeChanges(ctx context.Context, tx *sql.Tx, orgID string, runID int64, recs []adsync.ChangeRecord) error {
	first, last := record.Bounds(recs)
	rows, err := s.loadBatches(ctx, tx, s.clog.overlap, orgID, runID, last, first)
	if err != nil {
		return err
	}
	changed, rest := record.Place(rows, recs)
	if err := s.rewrite(ctx, tx, changed); err != nil {
		return err
	}
	for _, chunk := range record.Chunks(rest) {
		data, keys, err := record.EncodeBatch(chunk)
		if err != nil {
			return err
		}
		lo, hi := record.Bounds(chunk)
		if _, err := tx.StmtContext(ctx, s.clog.insert).ExecContext(ctx, orgID, runID, lo, hi, noMark, keys, data); err != nil {
			return err
		}
	}
	return nil
}

// loadBatches returns the batch rows of run runID that stmt selects,
// decoded, their marks applied. Its parameters: the organization, the run,
// then args.
func (s *Store) loadBatches(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, orgID string, runID int64, args ...any) ([]record.BatchRow, error) {
	rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, append([]any{orgID, runID}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []record.BatchRow
	for rows.Next() {
		var (
			r          record.BatchRow
			mark, data []byte
		)
		if err := rows.Scan(&r.ID, &mark, &data); err != nil {
			return nil, err
		}
		if r.Recs, err = record.DecodeRow(orgID, runID, mark, data); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// rewrite stores rows whose records changed (their seqs did not), their
// marks applied.
func (s *Store) rewrite(ctx context.Context, tx *sql.Tx, rows []record.BatchRow) error {
	for _, r := range rows {
		data, keys, err := record.EncodeBatch(r.Recs)
		if err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, s.clog.rewrite).ExecContext(ctx, noMark, keys, data, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// Changes returns a page of the organization's change records: the batch
// rows that may hold some, in (run, first seq) order, until no further row
// can change the page. A contact or user filter first selects the rows
// whose key blob holds its key; the records are then checked one by one.
func (s *Store) Changes(ctx context.Context, orgID string, f adsync.ChangeFilter) ([]adsync.ChangeRecord, error) {
	q := strings.Builder{}
	q.WriteString(`SELECT run_id, first_seq, mark, records FROM change_batches WHERE org_id=?`)
	args := []any{orgID}
	if f.RunID != 0 {
		q.WriteString(` AND run_id=?`)
		args = append(args, f.RunID)
	}
	if f.UserID != "" {
		q.WriteString(` AND instr(keys, ?)>0`)
		args = append(args, record.UserKey(f.UserID))
	}
	if f.ContactID != 0 {
		q.WriteString(` AND instr(keys, ?)>0`)
		args = append(args, record.ContactKey(f.ContactID))
	}
	if f.AfterRun != 0 {
		q.WriteString(` AND (run_id>? OR (run_id=? AND last_seq>?))`)
		args = append(args, f.AfterRun, f.AfterRun, f.AfterSeq)
	}
	q.WriteString(` ORDER BY run_id, first_seq`)
	what := fmt.Sprintf("changes of organization %q", orgID)
	rows, err := s.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	defer rows.Close()
	p := record.NewPager(f)
	for rows.Next() {
		var (
			runID      int64
			first      int
			mark, data sql.RawBytes
		)
		if err := rows.Scan(&runID, &first, &mark, &data); err != nil {
			return nil, s.wrap(what, err)
		}
		if p.Done(runID, first) {
			break
		}
		recs, err := record.DecodeRow(orgID, runID, mark, data)
		if err != nil {
			return nil, s.wrap(fmt.Sprintf("%s, run %d", what, runID), err)
		}
		p.Add(recs)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(what, err)
	}
	return p.Page(), nil
}
