package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// The change log is kept in batch rows (migration 0006, record.EncodeBatch):
// one row per call of at most record.BatchRecords records, a record living
// in exactly one row. A call inserts a row for the records no row holds,
// and rewrites the rows holding the others; PutOutcomes marks the rows of
// its range with one UPDATE of their mark (a small new tuple: the records
// stay where TOAST put them). A row's mark applies to its records when it
// is read; a row rewritten gets its mark applied first, so a mark only
// ever covers records put before it.

// noMark is the mark of a row that has none.
var noMark = record.EncodeMark(adsync.Written{})

// PutChanges records the run's change records and puts the links, in one
// transaction.
func (s *Store) PutChanges(ctx context.Context, orgID string, runID int64, changes []adsync.ChangeRecord, links []adsync.Link) error {
	return s.putChanges(ctx, orgID, runID, adsync.Written{}, changes, links)
}

// PutOutcomes marks the batch rows of the range (one UPDATE of their mark),
// then records the other outcomes, and puts the links, in one transaction.
func (s *Store) PutOutcomes(ctx context.Context, orgID string, runID int64, w adsync.Written, changes []adsync.ChangeRecord, links []adsync.Link) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("history/postgres: put outcomes of run %d of organization %q: %w", runID, orgID, err)
	}
	return s.putChanges(ctx, orgID, runID, w, changes, links)
}

func (s *Store) putChanges(ctx context.Context, orgID string, runID int64, w adsync.Written, changes []adsync.ChangeRecord, links []adsync.Link) error {
	if err := record.CheckChanges(orgID, runID, changes); err != nil {
		return err
	}
	la, err := linkColumnsOf(orgID, links)
	if err != nil {
		return err
	}
	recs := record.LastBySeq(changes)
	mk := record.EncodeMark(w)
	what := fmt.Sprintf("put %d changes of run %d of organization %q", len(changes), runID, orgID)
	return s.inTx(ctx, what, func(tx pgx.Tx) error {
		// In one round trip, as a run's call most often needs: the run's
		// check; the mark of the rows without one; the rows to change
		// (those in the range marked before, rare: a range marked twice,
		// and those that may hold the records' seqs); the records in new
		// rows, unless a row may hold one of them; the links, unless they
		// are many.
		first, last := -1, -2
		if len(recs) > 0 {
			first, last = record.Bounds(recs)
		}
		var b pgx.Batch
		b.Queue(`WITH m AS (UPDATE adsync_change_batches SET mark=$3 WHERE org_id=$1 AND run_id=$2
				AND first_seq<$4 AND last_seq>=$5 AND mark=$6 AND $4>$5 RETURNING 1)
			SELECT (SELECT count(*) FROM adsync_runs WHERE id=$2 AND org_id=$1) + 0*(SELECT count(*) FROM m)`,
			orgID, runID, mk, w.To, w.From, noMark)
		b.Queue(`SELECT first_seq, mark, records, (first_seq<$3 AND last_seq>=$4 AND mark<>$5)
				FROM adsync_change_batches WHERE org_id=$1 AND run_id=$2
				AND ((first_seq<$3 AND last_seq>=$4 AND mark<>$5) OR (first_seq<=$6 AND last_seq>=$7))`,
			orgID, runID, w.To, w.From, mk, last, first)
		if len(recs) > 0 {
			ins, err := queueInsert(orgID, runID, recs, true)
			if err != nil {
				return err
			}
			b.Queue(ins.sql, ins.args...)
		}
		batchLinks := len(la.users) > 0 && len(la.users) < copyFrom
		if batchLinks {
			for lo := 0; lo < len(la.users); lo += linkChunk {
				b.Queue(insertLinks, la.args(orgID, lo, min(lo+linkChunk, len(la.users)))...)
			}
		}
		br := tx.SendBatch(ctx, &b)
		var runs int
		if err := br.QueryRow().Scan(&runs); err != nil {
			br.Close()
			return s.fail(what, err)
		}
		if runs == 0 {
			br.Close()
			return &storeError{fmt.Errorf("history/postgres: %s: %w", what, adsync.ErrNotFound)}
		}
		rows, marked, err := scanBatchRows(br, orgID, runID, w)
		inserted := true
		if err == nil && len(recs) > 0 {
			var tag pgconn.CommandTag
			tag, err = br.Exec()
			inserted = tag.RowsAffected() > 0
		}
		for lo := 0; batchLinks && err == nil && lo < len(la.users); lo += linkChunk {
			_, err = br.Exec()
		}
		if err := errors.Join(err, br.Close()); err != nil {
			return s.fail(what, err)
		}

		// Rows marked before get their marks applied; records of seqs a
		// row holds replace them there, the others go to new rows.
		rewrite := map[int64]bool{}
		for i := range rows {
			rewrite[rows[i].ID] = marked[i]
		}
		var rest []adsync.ChangeRecord
		if !inserted {
			var changed []record.BatchRow
			changed, rest = record.Place(rows, recs)
			for _, r := range changed {
				rewrite[r.ID] = true
			}
		}
		for _, r := range rows {
			if !rewrite[r.ID] {
				continue
			}
			data, keys, err := record.EncodeBatch(r.Recs)
			if err != nil {
				return &storeError{fmt.Errorf("history/postgres: %s: %w", what, err)}
			}
			if _, err := tx.Exec(ctx, `UPDATE adsync_change_batches SET mark=$4, keys=$5, records=$6 WHERE org_id=$1 AND run_id=$2
				AND first_seq=$3`, orgID, runID, r.ID, noMark, keys, data); err != nil {
				return s.fail(what, err)
			}
		}
		if len(rest) > 0 {
			ins, err := queueInsert(orgID, runID, rest, false)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, ins.sql, ins.args...); err != nil {
				return s.fail(what, err)
			}
		}
		if len(la.users) == 0 || batchLinks {
			return nil
		}
		return s.putLinks(ctx, tx, what, orgID, la)
	})
}

// scanBatchRows reads the rows to change from the batch's second query,
// decoded, their marks applied, with w applied to those marked before
// within its range (marked).
func scanBatchRows(br pgx.BatchResults, orgID string, runID int64, w adsync.Written) ([]record.BatchRow, []bool, error) {
	q, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	defer q.Close()
	var (
		rows   []record.BatchRow
		marked []bool
	)
	for q.Next() {
		var (
			r          record.BatchRow
			mark, data []byte
			old        bool
		)
		if err := q.Scan(&r.ID, &mark, &data, &old); err != nil {
			return nil, nil, err
		}
		if r.Recs, err = record.DecodeRow(orgID, runID, mark, data); err != nil {
			return nil, nil, err
		}
		if old {
			record.ApplyMark(r.Recs, w)
		}
		rows, marked = append(rows, r), append(marked, old)
	}
	return rows, marked, q.Err()
}

// statement is a statement and its parameters.
type statement struct {
	sql  string
	args []any
}

// queueInsert returns the statement storing records (in seq order, in no
// row yet) in new batch rows; if unlessHeld, it inserts nothing when a row
// of the run may hold one of their seqs (the caller then places them).
func queueInsert(orgID string, runID int64, recs []adsync.ChangeRecord, unlessHeld bool) (statement, error) {
	var (
		firsts, lasts []int32
		keys, datas   [][]byte
	)
	for _, c := range record.Chunks(recs) {
		data, k, err := record.EncodeBatch(c)
		if err != nil {
			return statement{}, &storeError{fmt.Errorf("history/postgres: put changes of run %d of organization %q: %w", runID, orgID, err)}
		}
		lo, hi := record.Bounds(c)
		firsts, lasts = append(firsts, int32(lo)), append(lasts, int32(hi))
		keys, datas = append(keys, k), append(datas, data)
	}
	first, last := record.Bounds(recs)
	q := `INSERT INTO adsync_change_batches (org_id, run_id, first_seq, last_seq, mark, keys, records)
		SELECT $1, $2, f, l, $3, k, d FROM unnest($4::integer[], $5::integer[], $6::bytea[], $7::bytea[]) AS x(f, l, k, d)`
	if unlessHeld {
		q += ` WHERE NOT EXISTS (SELECT 1 FROM adsync_change_batches WHERE org_id=$1 AND run_id=$2 AND first_seq<=$8 AND last_seq>=$9)`
		return statement{q, []any{orgID, runID, noMark, firsts, lasts, keys, datas, last, first}}, nil
	}
	return statement{q, []any{orgID, runID, noMark, firsts, lasts, keys, datas}}, nil
}

// insertBatches stores records (in seq order, in no row yet) in new batch
// rows, in one statement.
func insertBatches(ctx context.Context, tx pgx.Tx, orgID string, runID int64, recs []adsync.ChangeRecord) error {
	if len(recs) == 0 {
		return nil
	}
	ins, err := queueInsert(orgID, runID, recs, false)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, ins.sql, ins.args...)
	return err
}

// Changes returns a page of the organization's change records: the batch
// rows that may hold some, in (run, first seq) order, a few at a time,
// until no further row can change the page, in one snapshot. A contact or
// user filter first selects the rows whose key blob holds its key; the
// records are then checked one by one.
func (s *Store) Changes(ctx context.Context, orgID string, f adsync.ChangeFilter) ([]adsync.ChangeRecord, error) {
	var q strings.Builder
	q.WriteString(`SELECT run_id, first_seq, mark, records FROM adsync_change_batches WHERE org_id=$1
		AND (run_id, first_seq) > ($2, $3)`)
	args := []any{orgID, int64(0), 0}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.RunID != 0 {
		q.WriteString(` AND run_id=` + arg(f.RunID))
	}
	if f.UserID != "" {
		q.WriteString(` AND position(` + arg(record.UserKey(f.UserID)) + `::bytea in keys)>0`)
	}
	if f.ContactID != 0 {
		q.WriteString(` AND position(` + arg(record.ContactKey(f.ContactID)) + `::bytea in keys)>0`)
	}
	if f.AfterRun != 0 {
		q.WriteString(` AND (run_id>` + arg(f.AfterRun) + ` OR (run_id=` + arg(f.AfterRun) + ` AND last_seq>` + arg(f.AfterSeq) + `))`)
	}
	// Enough rows for a page when each holds a batch of the page's records.
	chunk := f.PageSize()/record.BatchRecords + 4
	q.WriteString(` ORDER BY run_id, first_seq LIMIT ` + strconv.Itoa(chunk))
	what := fmt.Sprintf("changes of organization %q", orgID)
	p := record.NewPager(f)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		for {
			rows, err := tx.Query(ctx, q.String(), args...)
			if err != nil {
				return err
			}
			n, done := 0, false
			for rows.Next() {
				var (
					runID      int64
					first      int32
					mark, data []byte
				)
				if err := rows.Scan(&runID, &first, &mark, &data); err != nil {
					rows.Close()
					return err
				}
				n++
				args[1], args[2] = runID, first
				if done = p.Done(runID, int(first)); done {
					break
				}
				recs, err := record.DecodeRow(orgID, runID, mark, data)
				if err != nil {
					rows.Close()
					return fmt.Errorf("run %d: %w", runID, err)
				}
				p.Add(recs)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if done || n < chunk {
				return nil
			}
		}
	})
	if err != nil {
		return nil, s.wrap(what, err)
	}
	return p.Page(), nil
}
