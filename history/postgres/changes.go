package postgres

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// changeChunk is the number of change records per INSERT statement.
const changeChunk = 2000

// PutChanges records the run's change records and puts the links, in one
// transaction.
func (s *Store) PutChanges(ctx context.Context, orgID string, runID int64, changes []adsync.ChangeRecord, links []adsync.Link) error {
	return s.putChanges(ctx, orgID, runID, adsync.Written{}, changes, links)
}

// PutOutcomes records the batch's mark (one row of adsync_change_marks,
// applied when the log is read: see migration 0005), then the other
// outcomes, and puts the links, in one transaction.
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
	// One statement may not touch a row twice: the last record of a seq
	// wins.
	last := make(map[int]int, len(changes))
	for i := range changes {
		last[changes[i].Seq] = i
	}
	var (
		seqs                         []int32
		kinds                        []string
		rules, users, labels, clabel []string
		contacts                     []int64
		fields                       []pgtype.Text
		active                       []pgtype.Bool
		resolution                   []bool
		outcomes, errs               []string
		ats                          []pgtype.Timestamptz
	)
	for i := range changes {
		c := &changes[i]
		if last[c.Seq] != i {
			continue
		}
		f, err := record.EncodeFields(c.Fields)
		if err != nil {
			return fmt.Errorf("%w (change %d of run %d of organization %q)", err, c.Seq, runID, orgID)
		}
		var a pgtype.Bool
		if c.Active != nil {
			a = pgtype.Bool{Bool: *c.Active, Valid: true}
		}
		seqs, kinds = append(seqs, int32(c.Seq)), append(kinds, string(c.Kind))
		rules, users, labels, clabel = append(rules, c.Rule), append(users, c.UserID), append(labels, c.User), append(clabel, c.Contact)
		contacts, fields, active = append(contacts, c.ContactID), append(fields, jsonText(f)), append(active, a)
		resolution, outcomes, errs = append(resolution, c.Resolution), append(outcomes, string(c.Outcome)), append(errs, c.Error)
		ats = append(ats, ts(c.At))
	}
	what := fmt.Sprintf("put %d changes of run %d of organization %q", len(changes), runID, orgID)
	return s.inTx(ctx, what, func(tx pgx.Tx) error {
		// The run's check, the call's put_id and the mark, in one round
		// trip.
		var put int64
		err := tx.QueryRow(ctx, `WITH r AS (SELECT nextval('adsync_change_puts') AS put FROM adsync_runs WHERE id=$1 AND org_id=$2),
			m AS (INSERT INTO adsync_change_marks (run_id, put_id, from_seq, to_seq, at) SELECT $1, put, $3::integer, $4::integer, $5::timestamptz FROM r WHERE $4::integer > $3::integer)
			SELECT put FROM r`, runID, orgID, w.From, w.To, ts(w.At)).Scan(&put)
		if err == pgx.ErrNoRows {
			return &storeError{fmt.Errorf("history/postgres: %s: %w", what, adsync.ErrNotFound)}
		}
		if err != nil {
			return s.fail(what, err)
		}
		for lo := 0; lo < len(seqs); lo += changeChunk {
			hi := min(lo+changeChunk, len(seqs))
			_, err := tx.Exec(ctx, `INSERT INTO adsync_changes (run_id, seq, org_id, kind, rule, user_id, user_label, contact_id,
				contact_label, fields, active, resolution, outcome, error, at, put_id)
				SELECT $1, sq, $2, k, r, u, ul, c, cl, f::jsonb, ac, rs, o, e, t, $16::bigint
				FROM unnest($3::integer[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[],
					$11::boolean[], $12::boolean[], $13::text[], $14::text[], $15::timestamptz[])
					AS x(sq, k, r, u, ul, c, cl, f, ac, rs, o, e, t)
				ON CONFLICT (run_id, seq) DO UPDATE SET kind=EXCLUDED.kind, rule=EXCLUDED.rule, user_id=EXCLUDED.user_id,
					user_label=EXCLUDED.user_label, contact_id=EXCLUDED.contact_id, contact_label=EXCLUDED.contact_label,
					fields=EXCLUDED.fields, active=EXCLUDED.active, resolution=EXCLUDED.resolution, outcome=EXCLUDED.outcome,
					error=EXCLUDED.error, at=EXCLUDED.at, put_id=EXCLUDED.put_id`,
				runID, orgID, seqs[lo:hi], kinds[lo:hi], rules[lo:hi], users[lo:hi], labels[lo:hi], contacts[lo:hi], clabel[lo:hi],
				fields[lo:hi], active[lo:hi], resolution[lo:hi], outcomes[lo:hi], errs[lo:hi], ats[lo:hi], put)
			if err != nil {
				return s.fail(what, err)
			}
		}
		if len(la.users) == 0 {
			return nil
		}
		return s.putLinks(ctx, tx, what, orgID, la)
	})
}

// Changes returns a page of the organization's change records.
func (s *Store) Changes(ctx context.Context, orgID string, f adsync.ChangeFilter) ([]adsync.ChangeRecord, error) {
	var q strings.Builder
	q.WriteString(`SELECT run_id, seq, kind, rule, user_id, user_label, contact_id, contact_label, fields::text, active, resolution,
		outcome, error, at, put_id FROM adsync_changes WHERE org_id=$1`)
	args := []any{orgID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.RunID != 0 {
		q.WriteString(` AND run_id=` + arg(f.RunID))
	}
	if f.UserID != "" {
		q.WriteString(` AND user_id=` + arg(f.UserID))
	}
	if f.ContactID != 0 {
		q.WriteString(` AND contact_id=` + arg(f.ContactID))
	}
	if f.Kind != "" {
		q.WriteString(` AND kind=` + arg(string(f.Kind)))
	}
	if f.AfterRun != 0 {
		q.WriteString(` AND (run_id, seq) > (` + arg(f.AfterRun) + `, ` + arg(f.AfterSeq) + `)`)
	}
	q.WriteString(` ORDER BY run_id, seq LIMIT ` + arg(f.PageSize()))
	what := fmt.Sprintf("changes of organization %q", orgID)
	// The records and the marks that apply to them, from one snapshot.
	var out []adsync.ChangeRecord
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		recs, puts, err := scanChanges(ctx, tx, q.String(), args)
		if err != nil {
			return err
		}
		for i := range recs {
			recs[i].OrgID = orgID
		}
		out = recs
		return applyMarks(ctx, tx, out, puts)
	})
	if err != nil {
		return nil, s.wrap(what, err)
	}
	return out, nil
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
