package postgres

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// batchMigration is the name's end of the migration that moves the change
// log into batch rows: convertChanges follows its script.
const batchMigration = "_change_batches.sql"

// convertChanges moves the records of adsync_changes (one row each, schema
// versions 2 to 5), with the marks of adsync_change_marks applied, into
// batch rows of at most record.BatchRecords records per run, in seq order,
// then drops the old tables, within the migration's transaction.
func convertChanges(ctx context.Context, tx pgx.Tx) error {
	var runs []struct {
		org string
		id  int64
	}
	rows, err := tx.Query(ctx, `SELECT DISTINCT org_id, run_id FROM adsync_changes ORDER BY run_id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r struct {
			org string
			id  int64
		}
		if err := rows.Scan(&r.org, &r.id); err != nil {
			rows.Close()
			return err
		}
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range runs {
		recs, puts, err := scanChanges(ctx, tx, `SELECT run_id, seq, kind, rule, user_id, user_label, contact_id, contact_label,
			fields::text, active, resolution, outcome, error, at, put_id FROM adsync_changes WHERE run_id=$1 ORDER BY seq`, []any{r.id})
		if err != nil {
			return err
		}
		if err := applyMarks(ctx, tx, recs, puts); err != nil {
			return err
		}
		if err := insertBatches(ctx, tx, r.org, r.id, recs); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `DROP TABLE adsync_changes; DROP TABLE adsync_change_marks; DROP SEQUENCE adsync_change_puts`)
	return err
}

// scanChanges runs the query of Changes, and returns the records with the
// put_id of each.
func scanChanges(ctx context.Context, tx pgx.Tx, q string, args []any) ([]adsync.ChangeRecord, []int64, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		out  []adsync.ChangeRecord
		puts []int64
	)
	for rows.Next() {
		c := adsync.ChangeRecord{}
		var (
			seq    int32
			fields pgtype.Text
			active pgtype.Bool
			at     pgtype.Timestamptz
		)
		var put int64
		if err := rows.Scan(&c.RunID, &seq, &c.Kind, &c.Rule, &c.UserID, &c.User, &c.ContactID, &c.Contact, &fields, &active,
			&c.Resolution, &c.Outcome, &c.Error, &at, &put); err != nil {
			return nil, nil, err
		}
		c.Seq = int(seq)
		if fields.Valid {
			if c.Fields, err = record.DecodeFields([]byte(fields.String)); err != nil {
				return nil, nil, fmt.Errorf("run %d change %d: %w", c.RunID, c.Seq, err)
			}
		}
		if active.Valid {
			b := active.Bool
			c.Active = &b
		}
		c.At = fromTS(at)
		out = append(out, c)
		puts = append(puts, put)
	}
	return out, puts, rows.Err()
}

// mark is a row of adsync_change_marks.
type mark struct {
	put      int64
	from, to int
	at       pgtype.Timestamptz
}

// applyMarks gives the records still unknown the outcome of the marks that
// apply to them: the first mark (by put_id) made after the record was put
// whose range holds its seq.
func applyMarks(ctx context.Context, tx pgx.Tx, out []adsync.ChangeRecord, puts []int64) error {
	var runs []int64
	for i := range out {
		if out[i].Outcome == adsync.OutcomeUnknown && (len(runs) == 0 || runs[len(runs)-1] != out[i].RunID) {
			runs = append(runs, out[i].RunID)
		}
	}
	if len(runs) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT run_id, put_id, from_seq, to_seq, at FROM adsync_change_marks WHERE run_id = ANY($1)
		ORDER BY run_id, from_seq`, runs)
	if err != nil {
		return err
	}
	byRun := make(map[int64][]mark, len(runs))
	span := make(map[int64]int, len(runs)) // the longest range of each run's marks
	for rows.Next() {
		var (
			run      int64
			m        mark
			from, to int32
		)
		if err := rows.Scan(&run, &m.put, &from, &to, &m.at); err != nil {
			rows.Close()
			return err
		}
		m.from, m.to = int(from), int(to)
		byRun[run] = append(byRun[run], m)
		span[run] = max(span[run], m.to-m.from)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range out {
		c := &out[i]
		ms := byRun[c.RunID]
		if c.Outcome != adsync.OutcomeUnknown || len(ms) == 0 {
			continue
		}
		// The marks that may hold seq start within the longest span
		// before it.
		hi := sort.Search(len(ms), func(j int) bool { return ms[j].from > c.Seq })
		var first *mark
		for j := hi - 1; j >= 0 && ms[j].from > c.Seq-span[c.RunID]; j-- {
			m := &ms[j]
			if c.Seq < m.to && m.put > puts[i] && (first == nil || m.put < first.put) {
				first = m
			}
		}
		if first != nil {
			c.Outcome, c.At = adsync.OutcomeWritten, fromTS(first.at)
		}
	}
	return nil
}
