package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// Links live in two tables (migration 0004): links, keyed by (org_id,
// user_id), and link_log, where PutLinks and DeleteLinks append their rows
// in the order of the writes. An organization's links are those in links
// overlaid by its log rows in seq order: the last row of a user wins, and a
// deleted row removes the user, so a row that a later row of its user
// supersedes can go (dropJournaled). fold moves an organization's log into
// links in one transaction, at the end of each run (FinishRun) and when the
// log grows past foldAt rows.
//
// Why: with random user ids (GUIDs), each link of a batch lands on its own
// page of links, and every call rewrote about one page per link; appending
// to the log writes a few pages per call, and a fold writes each page of
// links once, in key order.

// foldAt is the length of an organization's log (in rows, counted as the
// span of its seq) from which PutLinks and DeleteLinks fold it: a bound on
// the log that Links overlays, for a run that never finishes. A run
// within the largest user cap (adsync.DefaultMaxUsers) folds once, when it finishes: a
// first run logs up to two rows per user (its journal, then its links;
// dropJournaled drops most journal rows).
const foldAt = 1_000_000

// The log takes linksPerInsert rows per statement (a Syncer batch): far
// fewer calls through database/sql than one row each, within SQLite's
// 32,766 bound parameters. A deletion binds its organization and user id
// only. The parameters are anonymous (?): SQLite finds the name of a
// numbered one (?NNN) by a linear search, which made binding quadratic.
const linksPerInsert = adsync.MaxPageSize

// logInsert is the statement appending n rows to the link log: links
// (parameters per row: the organization, the user id and the link's
// fields, putColumns in all) or, if deleted, deletions (the organization
// and the user id).
func logInsert(n int, deleted bool) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO link_log (org_id, user_id, deleted, contact_id, created, pending, active, after_id, written, linked_at, synced_at,
		missing_since, anchor) VALUES `)
	row := "(?,?,0,?,?,?,?,?,?,?,?,?,?)"
	if deleted {
		row = "(?,?,1,0,0,0,0,0,NULL,NULL,NULL,NULL,'')"
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// putColumns is the number of parameters of a link in the log.
const putColumns = 12

// prepareLog prepares the full-size statements of the saves (appending to
// the link log, dropJournaled's, the change records') and headQuery on the
// writer connection, once: a statement of 500 rows takes a while to
// parse. (Preparing inside a transaction would wait for the writer's one
// connection, held by the transaction.)
func (s *Store) prepareLog(ctx context.Context) error {
	var err error
	if s.putStmt, err = s.w.PrepareContext(ctx, logInsert(linksPerInsert, false)); err != nil {
		return s.openErr(err)
	}
	if s.delStmt, err = s.w.PrepareContext(ctx, logInsert(linksPerInsert, true)); err != nil {
		return s.openErr(err)
	}
	if s.dropStmt, err = s.w.PrepareContext(ctx, dropJournal(linksPerInsert)); err != nil {
		return s.openErr(err)
	}
	if s.headStmt, err = s.w.PrepareContext(ctx, headQuery); err != nil {
		return s.openErr(err)
	}
	return nil
}

// logStmt returns the statement appending n rows (of links, or deleted)
// within tx: the full-size ones prepared by prepareLog, the others
// prepared for the call.
func (s *Store) logStmt(ctx context.Context, tx *sql.Tx, n int, deleted bool) (*sql.Stmt, error) {
	switch {
	case n == linksPerInsert && deleted:
		return tx.StmtContext(ctx, s.delStmt), nil
	case n == linksPerInsert:
		return tx.StmtContext(ctx, s.putStmt), nil
	}
	return tx.PrepareContext(ctx, logInsert(n, deleted))
}

// appendLog appends n rows to the link log, linksPerInsert per statement;
// row(i, args) appends the parameters of row i after its organization.
func (s *Store) appendLog(ctx context.Context, tx *sql.Tx, what string, orgID string, n int, deleted bool, row func(i int, args []any) []any) error {
	args := make([]any, 0, min(n, linksPerInsert)*putColumns)
	for lo := 0; lo < n; lo += linksPerInsert {
		hi := min(lo+linksPerInsert, n)
		stmt, err := s.logStmt(ctx, tx, hi-lo, deleted)
		if err != nil {
			return s.wrap(what, err)
		}
		args = args[:0]
		for i := lo; i < hi; i++ {
			args = row(i, append(args, orgID))
		}
		_, err = stmt.ExecContext(ctx, args...)
		stmt.Close()
		if err != nil {
			return s.wrap(what, err)
		}
	}
	return nil
}

// PutLinks inserts or replaces links, in one transaction: it appends them
// to the link log. A link of another organization, or without a user id,
// is refused and nothing is written. A user given twice keeps the last.
func (s *Store) PutLinks(ctx context.Context, orgID string, links []adsync.Link) error {
	if err := record.CheckOrg("put links", orgID); err != nil {
		return err
	}
	if len(links) == 0 {
		return nil
	}
	what := fmt.Sprintf("put %d links of organization %q", len(links), orgID)
	return s.inTx(ctx, what, func(tx *sql.Tx) error { return s.putLinks(ctx, tx, what, orgID, links) })
}

// putLinks appends links to the link log within tx (PutLinks, and
// PutChanges, which saves them with the change log in one transaction).
func (s *Store) putLinks(ctx context.Context, tx *sql.Tx, what, orgID string, links []adsync.Link) error {
	if len(links) == 0 {
		return nil
	}
	written := make([][]byte, len(links))
	for i, l := range links {
		if err := record.CheckMember("put links", orgID, l.OrgID, l.UserID); err != nil {
			return err
		}
		var err error
		if written[i], err = record.EncodeWritten(l.Written); err != nil {
			return fmt.Errorf("%w (user %s of organization %q)", err, l.UserID, orgID)
		}
	}
	// The log's last row before these, and the organization's first.
	var (
		last  int64
		first sql.NullInt64
	)
	if err := tx.StmtContext(ctx, s.headStmt).QueryRowContext(ctx, orgID).Scan(&last, &first); err != nil {
		return s.wrap(what, err)
	}
	err := s.appendLog(ctx, tx, what, orgID, len(links), false, func(i int, args []any) []any {
		l := &links[i]
		return append(args, l.UserID, l.ContactID, l.Created, l.Pending, l.Active, l.After,
			nullText(written[i]), micros(l.LinkedAt), micros(l.SyncedAt), micros(l.MissingSince), l.Anchor)
	})
	if err != nil {
		return err
	}
	if err := s.dropJournaled(ctx, tx, what, orgID, last, links); err != nil {
		return err
	}
	// These took seq last+1 to last+len(links): SQLite gives a new row the
	// largest seq plus one.
	if !first.Valid {
		first.Int64 = last + 1
	}
	return s.foldIfSpans(ctx, tx, what, orgID, first.Int64, last+int64(len(links)))
}

// headQuery gives the log's last seq (0 if empty) and the organization's
// first (NULL if none), as putLinks needs them before it appends.
const headQuery = `SELECT coalesce((SELECT max(seq) FROM link_log), 0), (SELECT seq FROM link_log WHERE org_id=? ORDER BY seq LIMIT 1)`

// dropJournaled removes from the log the rows of the organization's last
// create journal (a call of pending links only, of at most
// linksPerInsert) whose users these links, appended after seq last, link:
// a user's rows but the last change nothing that Links returns or that
// fold writes. A first run journals each create, then links it; without
// this the log held each user twice, and sorting them took about half of
// the fold. After a journal call, it notes the journal's rows instead.
//
// The rows noted are a hint, kept in memory: each row is removed only if
// it still holds that user of that organization, before last, so a hint
// gone stale (a rollback, another process's fold) removes nothing wrongly.
func (s *Store) dropJournaled(ctx context.Context, tx *sql.Tx, what, orgID string, last int64, links []adsync.Link) error {
	journal := len(links) <= linksPerInsert
	for i := range links {
		journal = journal && links[i].Pending
	}
	s.mu.Lock()
	noted := s.journaled[orgID]
	delete(s.journaled, orgID)
	if journal {
		rows := make(map[string]int64, len(links))
		for i, l := range links {
			rows[l.UserID] = last + 1 + int64(i)
		}
		s.journaled[orgID] = rows
	}
	s.mu.Unlock()
	if journal || len(noted) == 0 {
		return nil
	}
	args := make([]any, 0, 2*min(len(links), len(noted))+2)
	for _, l := range links {
		if seq, ok := noted[l.UserID]; ok {
			args = append(args, seq, l.UserID)
			delete(noted, l.UserID) // a user given twice: once
		}
	}
	if len(args) == 0 {
		return nil
	}
	// The statement prepared once takes linksPerInsert pairs (a note has
	// at most that many); the pairs left are (0, ''): no row has seq 0.
	for len(args) < 2*linksPerInsert {
		args = append(args, 0, "")
	}
	_, err := tx.StmtContext(ctx, s.dropStmt).ExecContext(ctx, append(args, orgID, last)...)
	return s.wrap(what, err)
}

// dropJournal is the statement of dropJournaled: it removes the rows of n
// (seq, user id) pairs that hold that user of an organization, up to a
// seq. CROSS JOIN and +org_id: each row found by its seq, not the
// organization's whole log scanned per pair.
func dropJournal(n int) string {
	var q strings.Builder
	q.WriteString(`DELETE FROM link_log WHERE seq IN (SELECT l.seq FROM (VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?)")
	}
	q.WriteString(`) AS v CROSS JOIN link_log AS l ON l.seq = v.column1 WHERE l.user_id = v.column2 AND +l.org_id = ? AND l.seq <= ?)`)
	return q.String()
}

// DeleteLinks removes the users' links, in one transaction: it appends a
// deleted row per user to the link log. Missing ones are ignored.
func (s *Store) DeleteLinks(ctx context.Context, orgID string, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	what := fmt.Sprintf("delete %d links of organization %q", len(userIDs), orgID)
	return s.inTx(ctx, what, func(tx *sql.Tx) error {
		err := s.appendLog(ctx, tx, what, orgID, len(userIDs), true, func(i int, args []any) []any {
			return append(args, userIDs[i])
		})
		if err != nil {
			return err
		}
		return s.foldIfLong(ctx, tx, what, orgID)
	})
}

// foldIfLong folds the organization's log when it has grown past foldAt
// rows. The length is the span of its seq (an upper bound when several
// organizations write at once), found in the index without counting.
func (s *Store) foldIfLong(ctx context.Context, tx *sql.Tx, what, orgID string) error {
	var first, last sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT (SELECT seq FROM link_log WHERE org_id=?1 ORDER BY seq LIMIT 1),
		(SELECT seq FROM link_log WHERE org_id=?1 ORDER BY seq DESC LIMIT 1)`, orgID).Scan(&first, &last)
	if err != nil {
		return s.wrap(what, err)
	}
	if !first.Valid {
		return nil
	}
	return s.foldIfSpans(ctx, tx, what, orgID, first.Int64, last.Int64)
}

// foldIfSpans folds the organization's log if its rows, from seq first to
// last, span foldAt or more.
func (s *Store) foldIfSpans(ctx context.Context, tx *sql.Tx, what, orgID string, first, last int64) error {
	if last-first+1 < int64(s.foldAt) {
		return nil
	}
	return s.fold(ctx, tx, what, orgID)
}

// fold moves the organization's log into links, in key order so that each
// page of links is written once: each user's log rows in seq order, the
// last winning (an upsert per row; a deleted row is skipped here), then the
// users whose last row is a deletion are removed, and the log is emptied.
// The organization's links, as Links returns them, do not change.
func (s *Store) fold(ctx context.Context, tx *sql.Tx, what, orgID string) error {
	what += ": fold the link log"
	s.mu.Lock()
	delete(s.journaled, orgID) // its rows go
	s.mu.Unlock()
	// SQLite's sorter sorts in chunks of the page cache's size (2 MB by
	// default) and merges more than 16 in two passes: with 8 MB a
	// 400,000-user first run's log is merged in one (0.2 s less), for a
	// few MB more during the fold.
	var cache int
	if err := tx.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
		return s.wrap(what, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size=%d`, foldCacheSize)); err != nil {
		return s.wrap(what, err)
	}
	defer func() {
		// Failing, it leaves a larger cache, nothing worse.
		_, _ = tx.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size=%d`, cache))
	}()
	if _, err := tx.ExecContext(ctx, `INSERT INTO links (org_id, user_id, contact_id, created, pending, active, after_id, written, linked_at, synced_at,
			missing_since, anchor)
		SELECT org_id, user_id, contact_id, created, pending, active, after_id, written, linked_at, synced_at, missing_since, anchor FROM link_log
		WHERE org_id=?1 AND NOT deleted ORDER BY user_id, seq
		ON CONFLICT (org_id, user_id) DO UPDATE SET contact_id=excluded.contact_id, created=excluded.created,
			pending=excluded.pending, active=excluded.active, after_id=excluded.after_id, written=excluded.written,
			linked_at=excluded.linked_at, synced_at=excluded.synced_at, missing_since=excluded.missing_since,
			anchor=excluded.anchor`, orgID); err != nil {
		return s.wrap(what, err)
	}
	var deletions int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM link_log WHERE org_id=? AND deleted LIMIT 1)`, orgID).Scan(&deletions); err != nil {
		return s.wrap(what, err)
	}
	if deletions > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM links WHERE org_id=?1 AND user_id IN
			(SELECT user_id FROM link_log WHERE org_id=?1 GROUP BY user_id HAVING max(seq) = max(CASE WHEN deleted THEN seq END))`, orgID); err != nil {
			return s.wrap(what, err)
		}
	}
	// Emptying the whole table, when the log holds this organization only,
	// frees its pages at once instead of deleting row by row.
	var others bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM link_log WHERE org_id < ?1)
		OR EXISTS (SELECT 1 FROM link_log WHERE org_id > ?1)`, orgID).Scan(&others); err != nil {
		return s.wrap(what, err)
	}
	clear, args := `DELETE FROM link_log`, []any(nil)
	if others {
		clear, args = clear+` WHERE org_id=?`, []any{orgID}
	}
	if _, err := tx.ExecContext(ctx, clear, args...); err != nil {
		return s.wrap(what, err)
	}
	return nil
}

// foldCacheSize is the page cache (and sorter chunk) during a fold, in
// SQLite's unit: negative is KiB.
const foldCacheSize = -8192

// foldAll folds the organization's log if it has any row: FinishRun calls
// it, so that a run leaves its links in links.
func (s *Store) foldAll(ctx context.Context, tx *sql.Tx, what, orgID string) error {
	var any int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM link_log WHERE org_id=? LIMIT 1)`, orgID).Scan(&any)
	if err != nil {
		return s.wrap(what, err)
	}
	if any == 0 {
		return nil
	}
	return s.fold(ctx, tx, what, orgID)
}

const linkColumns = `user_id, contact_id, created, pending, active, after_id, written, linked_at, synced_at, missing_since, anchor`

// scanLink reads the linkColumns of a row into l, after the columns
// before them into before.
func scanLink(rows *sql.Rows, l *adsync.Link, strs *record.Strings, before ...any) error {
	var (
		written                     sql.RawBytes
		linkedAt, syncedAt, missing sql.NullInt64
	)
	dest := append(before, &l.UserID, &l.ContactID, &l.Created, &l.Pending, &l.Active, &l.After, &written, &linkedAt, &syncedAt,
		&missing, &l.Anchor)
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	var err error
	if l.Written, err = record.DecodeWrittenShared(written, strs); err != nil {
		return fmt.Errorf("user %s: %w", l.UserID, err)
	}
	l.LinkedAt, l.SyncedAt, l.MissingSince = fromMicros(linkedAt), fromMicros(syncedAt), fromMicros(missing)
	return nil
}

// Links returns the organization's links: those in links overlaid by its
// log, read in one transaction so that a fold in between changes nothing.
func (s *Store) Links(ctx context.Context, orgID string) ([]adsync.Link, error) {
	what := fmt.Sprintf("links of organization %q", orgID)
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	defer tx.Rollback()

	// The log's last row of each user, in the order of the users' first
	// rows.
	strs := new(record.Strings) // the values repeating from link to link, held once
	var logged []adsync.Link
	deleted := map[string]bool{}
	at := map[string]int{}
	rows, err := tx.QueryContext(ctx, `SELECT deleted, `+linkColumns+` FROM link_log WHERE org_id=? ORDER BY seq`, orgID)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	for rows.Next() {
		l := adsync.Link{OrgID: orgID}
		var del bool
		if err := scanLink(rows, &l, strs, &del); err != nil {
			rows.Close()
			return nil, s.wrap(what, err)
		}
		deleted[l.UserID] = del
		if i, ok := at[l.UserID]; ok {
			logged[i] = l
			continue
		}
		at[l.UserID] = len(logged)
		logged = append(logged, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(what, err)
	}

	var count int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM links WHERE org_id=?`, orgID).Scan(&count); err != nil {
		return nil, s.wrap(what, err)
	}
	out := make([]adsync.Link, 0, count+len(logged))
	rows, err = tx.QueryContext(ctx, `SELECT `+linkColumns+` FROM links WHERE org_id=?`, orgID)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	defer rows.Close()
	for rows.Next() {
		l := adsync.Link{OrgID: orgID}
		if err := scanLink(rows, &l, strs); err != nil {
			return nil, s.wrap(what, err)
		}
		if _, ok := at[l.UserID]; !ok {
			out = append(out, l)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(what, err)
	}
	for _, l := range logged {
		if !deleted[l.UserID] {
			out = append(out, l)
		}
	}
	return out, nil
}

// nullText stores JSON as TEXT, NULL when there is none.
func nullText(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
