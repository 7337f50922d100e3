package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// ts encodes a time, NULL for the zero time.
func ts(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// fromTS decodes what ts encoded, in UTC.
func fromTS(v pgtype.Timestamptz) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.Time.UTC()
}

// jsonText passes encoded JSON as text (cast to jsonb in the SQL), NULL
// for none.
func jsonText(b []byte) pgtype.Text { return pgtype.Text{String: string(b), Valid: b != nil} }

func (s *Store) inTx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, fn)
	if err != nil && !isWrapped(err) {
		return s.wrap(what, err)
	}
	return err
}

// isWrapped reports an error this package already wrapped or made.
func isWrapped(err error) bool {
	var w *storeError
	return errors.As(err, &w)
}

// storeError marks an error made inside a transaction, so that inTx does
// not wrap it twice.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func (s *Store) fail(what string, err error) error {
	if err == nil {
		return nil
	}
	return &storeError{s.wrap(what, err)}
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
	err = s.pool.QueryRow(ctx, `INSERT INTO adsync_runs (org_id, trigger_kind, status, started, ended, error, api_calls, tls,
		full_read, read_cursor, approved_run, details) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12::jsonb) RETURNING id`,
		r.OrgID, string(r.Trigger), string(r.Status), ts(r.Started), ts(r.Ended), r.Error, r.APICalls, string(r.TLS),
		r.FullRead, r.Cursor, r.ApprovedRun, string(details)).Scan(&r.ID)
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
	return s.inTx(ctx, what, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE adsync_runs SET trigger_kind=$1, status=$2, started=$3, ended=$4, error=$5, api_calls=$6,
			tls=$7, full_read=$8, read_cursor=$9, approved_run=$10, details=$11::jsonb WHERE id=$12 AND org_id=$13`,
			string(r.Trigger), string(r.Status), ts(r.Started), ts(r.Ended), r.Error, r.APICalls, string(r.TLS),
			r.FullRead, r.Cursor, r.ApprovedRun, string(details), r.ID, r.OrgID)
		if err != nil {
			return s.fail(what, err)
		}
		if tag.RowsAffected() == 0 {
			return &storeError{fmt.Errorf("history/postgres: %s: %w", what, adsync.ErrNotFound)}
		}
		// Serialize the pruning of one organization, so that concurrent
		// finishes leave exactly the newest KeepRuns.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.key("prune", r.OrgID)); err != nil {
			return s.fail(what, err)
		}
		// The change logs of the pruned runs go with them.
		_, err = tx.Exec(ctx, `WITH gone AS (DELETE FROM adsync_runs WHERE org_id=$1 AND id NOT IN
			(SELECT id FROM adsync_runs WHERE org_id=$1 ORDER BY id DESC LIMIT $2) RETURNING id)
			DELETE FROM adsync_change_batches WHERE org_id=$1 AND run_id IN (SELECT id FROM gone)`, r.OrgID, adsync.KeepRuns)
		return s.fail(what, err)
	})
}

const runColumns = `id, org_id, trigger_kind, status, started, ended, error, api_calls, tls, full_read, read_cursor, approved_run, details`

func scanRun(row pgx.Row) (adsync.Run, error) {
	var (
		r              adsync.Run
		started, ended pgtype.Timestamptz
		details        []byte
	)
	err := row.Scan(&r.ID, &r.OrgID, &r.Trigger, &r.Status, &started, &ended, &r.Error, &r.APICalls, &r.TLS,
		&r.FullRead, &r.Cursor, &r.ApprovedRun, &details)
	if err != nil {
		return r, err
	}
	r.Started, r.Ended = fromTS(started), fromTS(ended)
	return r, record.DecodeRunDetails(&r, details)
}

// Runs returns the organization's runs, newest first, at most limit.
func (s *Store) Runs(ctx context.Context, orgID string, limit int) ([]adsync.Run, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	what := fmt.Sprintf("runs of organization %q", orgID)
	rows, err := s.pool.Query(ctx, `SELECT `+runColumns+` FROM adsync_runs WHERE org_id=$1 ORDER BY id DESC LIMIT $2`, orgID, lim)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (adsync.Run, error) { return scanRun(row) })
	return runs, s.wrap(what, err)
}

// Run returns one kept run.
func (s *Store) Run(ctx context.Context, orgID string, id int64) (adsync.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runColumns+` FROM adsync_runs WHERE id=$1 AND org_id=$2`, id, orgID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = adsync.ErrNotFound
	}
	return r, s.wrap(fmt.Sprintf("run %d of organization %q", id, orgID), err)
}

// InterruptRuns marks the runs still running as interrupted (R-RUN-7),
// except those of organizations whose lock a live replica holds: such a run
// is going on elsewhere, not dead. One transaction; each organization's
// lock is held (transaction-scoped) while its runs are marked.
func (s *Store) InterruptRuns(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.inTx(ctx, "interrupt runs", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT DISTINCT org_id FROM adsync_runs WHERE status='running'`)
		if err != nil {
			return s.fail("interrupt runs", err)
		}
		orgs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return s.fail("interrupt runs", err)
		}
		for _, org := range orgs {
			var free bool
			if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, s.key("org", org)).Scan(&free); err != nil {
				return s.fail("interrupt runs", err)
			}
			if !free {
				s.log.Info("run left running: its organization is locked by a live replica", "org", org)
				continue
			}
			tag, err := tx.Exec(ctx, `UPDATE adsync_runs SET status='interrupted', ended=$1 WHERE status='running' AND org_id=$2`, ts(now), org)
			if err != nil {
				return s.fail("interrupt runs", err)
			}
			n += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Links returns the organization's links.
func (s *Store) Links(ctx context.Context, orgID string) ([]adsync.Link, error) {
	what := fmt.Sprintf("links of organization %q", orgID)
	rows, err := s.pool.Query(ctx, `SELECT user_id, contact_id, created, pending, active, after_id, written::text, linked_at, synced_at,
		missing_since, anchor FROM adsync_links WHERE org_id=$1`, orgID)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	defer rows.Close()
	var (
		out                         []adsync.Link
		written                     []byte
		linkedAt, syncedAt, missing pgtype.Timestamptz
		strs                        = new(record.Strings) // the values repeating from link to link, held once
	)
	for rows.Next() {
		l := adsync.Link{OrgID: orgID}
		if err := rows.Scan(&l.UserID, &l.ContactID, &l.Created, &l.Pending, &l.Active, &l.After, &written, &linkedAt, &syncedAt, &missing, &l.Anchor); err != nil {
			return nil, s.wrap(what, err)
		}
		if l.Written, err = record.DecodeWrittenShared(written, strs); err != nil {
			return nil, s.wrap(what+", user "+l.UserID, err)
		}
		l.LinkedAt, l.SyncedAt, l.MissingSince = fromTS(linkedAt), fromTS(syncedAt), fromTS(missing)
		out = append(out, l)
	}
	return out, s.wrap(what, rows.Err())
}

// linkChunk is how many links one INSERT carries (as arrays unnested by
// the server): one round trip per chunk.
const linkChunk = 5000

// copyFrom is the number of links from which PutLinks streams them with
// COPY into a temporary table and upserts from there: a fixed cost (the
// table) for a lower cost per link.
const copyFrom = 20_000

// linkArrays are links by column, as the INSERT's array parameters take them.
type linkArrays struct {
	users              []string
	contacts, afters   []int64
	created, pending   []bool
	active             []bool
	written            []pgtype.Text
	linkedAt, syncedAt []pgtype.Timestamptz
	missing            []pgtype.Timestamptz
	anchors            []string
}

func (a *linkArrays) add(l *adsync.Link, written []byte) {
	a.users, a.contacts, a.afters = append(a.users, l.UserID), append(a.contacts, l.ContactID), append(a.afters, l.After)
	a.created, a.pending, a.active = append(a.created, l.Created), append(a.pending, l.Pending), append(a.active, l.Active)
	a.written = append(a.written, jsonText(written))
	a.linkedAt, a.syncedAt = append(a.linkedAt, ts(l.LinkedAt)), append(a.syncedAt, ts(l.SyncedAt))
	a.missing, a.anchors = append(a.missing, ts(l.MissingSince)), append(a.anchors, l.Anchor)
}

const linkUpdates = `contact_id=EXCLUDED.contact_id, created=EXCLUDED.created, pending=EXCLUDED.pending,
	active=EXCLUDED.active, after_id=EXCLUDED.after_id, written=EXCLUDED.written,
	linked_at=EXCLUDED.linked_at, synced_at=EXCLUDED.synced_at, missing_since=EXCLUDED.missing_since,
	anchor=EXCLUDED.anchor`

// PutLinks inserts or replaces links in one transaction: a few thousand
// per statement, or through COPY for a large call. A link of another
// organization, or without a user id, is refused and nothing is written.
func (s *Store) PutLinks(ctx context.Context, orgID string, links []adsync.Link) error {
	if err := record.CheckOrg("put links", orgID); err != nil {
		return err
	}
	a, err := linkColumnsOf(orgID, links)
	if err != nil || len(a.users) == 0 {
		return err
	}
	what := fmt.Sprintf("put %d links of organization %q", len(links), orgID)
	return s.inTx(ctx, what, func(tx pgx.Tx) error { return s.putLinks(ctx, tx, what, orgID, a) })
}

// linkColumnsOf checks links and arranges them by column. The last link of
// a user wins: one statement may not touch a row twice.
func linkColumnsOf(orgID string, links []adsync.Link) (*linkArrays, error) {
	last := make(map[string]int, len(links))
	for i, l := range links {
		if err := record.CheckMember("put links", orgID, l.OrgID, l.UserID); err != nil {
			return nil, err
		}
		last[l.UserID] = i
	}
	var a linkArrays
	for i := range links {
		l := &links[i]
		if last[l.UserID] != i {
			continue
		}
		w, err := record.EncodeWritten(l.Written)
		if err != nil {
			return nil, fmt.Errorf("%w (user %s of organization %q)", err, l.UserID, orgID)
		}
		a.add(l, w)
	}
	return &a, nil
}

// putLinks upserts links within tx: a few thousand per statement, or
// through COPY for a large call.
func (s *Store) putLinks(ctx context.Context, tx pgx.Tx, what, orgID string, a *linkArrays) error {
	if len(a.users) >= copyFrom {
		return s.fail(what, copyLinks(ctx, tx, orgID, a))
	}
	for lo := 0; lo < len(a.users); lo += linkChunk {
		hi := min(lo+linkChunk, len(a.users))
		if _, err := tx.Exec(ctx, insertLinks, a.args(orgID, lo, hi)...); err != nil {
			return s.fail(what, err)
		}
	}
	return nil
}

// insertLinks upserts the links of linkArrays.args.
const insertLinks = `INSERT INTO adsync_links
	(org_id, user_id, contact_id, created, pending, active, after_id, written, linked_at, synced_at, missing_since, anchor)
	SELECT $1, u, c, cr, p, ac, a, w::jsonb, la, sa, ms, an
	FROM unnest($2::text[], $3::bigint[], $4::boolean[], $5::boolean[], $6::boolean[], $7::bigint[], $8::text[],
		$9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::text[]) AS x(u, c, cr, p, ac, a, w, la, sa, ms, an)
	ON CONFLICT (org_id, user_id) DO UPDATE SET ` + linkUpdates

// args returns the parameters of insertLinks for links [lo, hi).
func (a *linkArrays) args(orgID string, lo, hi int) []any {
	return []any{orgID, a.users[lo:hi], a.contacts[lo:hi], a.created[lo:hi], a.pending[lo:hi], a.active[lo:hi], a.afters[lo:hi],
		a.written[lo:hi], a.linkedAt[lo:hi], a.syncedAt[lo:hi], a.missing[lo:hi], a.anchors[lo:hi]}
}

// copyLinks streams the links into a temporary table and upserts them
// from there.
func copyLinks(ctx context.Context, tx pgx.Tx, orgID string, a *linkArrays) error {
	if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE adsync_links_in
		(LIKE adsync_links INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return err
	}
	cols := []string{"org_id", "user_id", "contact_id", "created", "pending", "active", "after_id", "written", "linked_at", "synced_at",
		"missing_since", "anchor"}
	row := make([]any, len(cols))
	src := pgx.CopyFromSlice(len(a.users), func(i int) ([]any, error) {
		var w any
		if a.written[i].Valid {
			w = a.written[i].String
		}
		row[0], row[1], row[2], row[3], row[4] = orgID, a.users[i], a.contacts[i], a.created[i], a.pending[i]
		row[5], row[6], row[7], row[8], row[9] = a.active[i], a.afters[i], w, a.linkedAt[i], a.syncedAt[i]
		row[10], row[11] = a.missing[i], a.anchors[i]
		return row, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"adsync_links_in"}, cols, src); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO adsync_links SELECT * FROM adsync_links_in
		ON CONFLICT (org_id, user_id) DO UPDATE SET `+linkUpdates)
	return err
}

// DeleteLinks removes the users' links; missing ones are ignored.
func (s *Store) DeleteLinks(ctx context.Context, orgID string, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM adsync_links WHERE org_id=$1 AND user_id = ANY($2::text[])`, orgID, userIDs)
	return s.wrap(fmt.Sprintf("delete %d links of organization %q", len(userIDs), orgID), err)
}

// Conflicts returns the organization's open conflicts.
func (s *Store) Conflicts(ctx context.Context, orgID string) ([]adsync.Conflict, error) {
	what := fmt.Sprintf("conflicts of organization %q", orgID)
	rows, err := s.pool.Query(ctx, `SELECT user_id, label, kind, other_users::text, candidates::text, detail, first_seen, last_seen
		FROM adsync_conflicts WHERE org_id=$1`, orgID)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (adsync.Conflict, error) {
		c := adsync.Conflict{OrgID: orgID}
		var (
			others, candidates []byte
			first, last        pgtype.Timestamptz
		)
		if err := row.Scan(&c.UserID, &c.User, &c.Kind, &others, &candidates, &c.Detail, &first, &last); err != nil {
			return c, err
		}
		c.FirstSeen, c.LastSeen = fromTS(first), fromTS(last)
		var err1, err2 error
		c.OtherUsers, err1 = record.DecodeList[string](others)
		c.Candidates, err2 = record.DecodeList[int64](candidates)
		return c, errors.Join(err1, err2)
	})
	return cs, s.wrap(what, err)
}

// ReplaceConflicts makes cs the organization's open conflicts (R-CONF-5),
// in one transaction.
func (s *Store) ReplaceConflicts(ctx context.Context, orgID string, cs []adsync.Conflict) error {
	if err := record.CheckOrg("replace conflicts", orgID); err != nil {
		return err
	}
	batch := &pgx.Batch{}
	batch.Queue(`DELETE FROM adsync_conflicts WHERE org_id=$1`, orgID)
	// The last conflict of a user wins.
	seen := make(map[string]bool, len(cs))
	for _, c := range slices.Backward(cs) {
		if err := record.CheckMember("replace conflicts", orgID, c.OrgID, c.UserID); err != nil {
			return err
		}
		if seen[c.UserID] {
			continue
		}
		seen[c.UserID] = true
		others, err1 := record.EncodeList(c.OtherUsers)
		candidates, err2 := record.EncodeList(c.Candidates)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("history/postgres: replace conflicts of organization %q: %w", orgID, err)
		}
		batch.Queue(`INSERT INTO adsync_conflicts (org_id, user_id, label, kind, other_users, candidates, detail, first_seen, last_seen)
			VALUES ($1,$2,$3,$4,$5::jsonb,$6::jsonb,$7,$8,$9)`,
			orgID, c.UserID, c.User, string(c.Kind), jsonText(others), jsonText(candidates), c.Detail, ts(c.FirstSeen), ts(c.LastSeen))
	}
	what := fmt.Sprintf("replace conflicts of organization %q", orgID)
	return s.inTx(ctx, what, func(tx pgx.Tx) error {
		return s.fail(what, tx.SendBatch(ctx, batch).Close())
	})
}

// Resolutions returns the organization's resolutions.
func (s *Store) Resolutions(ctx context.Context, orgID string) ([]adsync.Resolution, error) {
	what := fmt.Sprintf("resolutions of organization %q", orgID)
	rows, err := s.pool.Query(ctx, `SELECT user_id, action, contact_id, resolved_by, created_at FROM adsync_resolutions WHERE org_id=$1`, orgID)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (adsync.Resolution, error) {
		r := adsync.Resolution{OrgID: orgID}
		var created pgtype.Timestamptz
		err := row.Scan(&r.UserID, &r.Action, &r.ContactID, &r.By, &created)
		r.CreatedAt = fromTS(created)
		return r, err
	})
	return rs, s.wrap(what, err)
}

// PutResolution inserts or replaces the user's resolution.
func (s *Store) PutResolution(ctx context.Context, r adsync.Resolution) error {
	if err := record.CheckResolution(r); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO adsync_resolutions (org_id, user_id, action, contact_id, resolved_by, created_at)
		VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (org_id, user_id) DO UPDATE SET action=EXCLUDED.action,
		contact_id=EXCLUDED.contact_id, resolved_by=EXCLUDED.resolved_by, created_at=EXCLUDED.created_at`,
		r.OrgID, r.UserID, string(r.Action), r.ContactID, r.By, ts(r.CreatedAt))
	return s.wrap(fmt.Sprintf("put resolution for user %q of organization %q", r.UserID, r.OrgID), err)
}

// DeleteResolution removes the user's resolution; ErrNotFound if none.
func (s *Store) DeleteResolution(ctx context.Context, orgID, userID string) error {
	what := fmt.Sprintf("delete resolution for user %q of organization %q", userID, orgID)
	tag, err := s.pool.Exec(ctx, `DELETE FROM adsync_resolutions WHERE org_id=$1 AND user_id=$2`, orgID, userID)
	if err != nil {
		return s.wrap(what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("history/postgres: %s: %w", what, adsync.ErrNotFound)
	}
	return nil
}
