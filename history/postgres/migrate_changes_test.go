package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
	"github.com/psasync/adsync/history/postgres/pgtest"
)

// A history at schema version 5 (one row per change record, marks apart)
// opens, and its logged runs read back the same from batch rows: every
// field, the marks applied to the records put before them only, the
// contact and user filters, a run of more records than a batch row holds.
func TestChangeLogFromSchema5(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	v5 := 0
	for i, m := range migrations {
		if i > 0 && migrations[i-1].Name == "0005_change_marks.sql" {
			v5 = i
			break
		}
		_, err := conn.Exec(ctx, m.SQL)
		require.NoError(t, err, m.Name)
	}
	require.Equal(t, 5, v5)
	_, err = conn.Exec(ctx, `CREATE TABLE adsync_schema (version integer NOT NULL); INSERT INTO adsync_schema VALUES (5)`)
	require.NoError(t, err)

	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	for run := int64(1); run <= 2; run++ {
		_, err := conn.Exec(ctx, `INSERT INTO adsync_runs (id, org_id, trigger_kind, status, started, error, api_calls, tls, full_read,
			read_cursor, approved_run, details) OVERRIDING SYSTEM VALUE VALUES ($1, 'org-a', 'scheduled', 'succeeded', $2, '', 0, '', false, '', 0, '{}')`, run, at)
		require.NoError(t, err)
	}
	var want []adsync.ChangeRecord
	insert := func(c adsync.ChangeRecord, put int64) {
		fields, err := record.EncodeFields(c.Fields)
		require.NoError(t, err)
		_, err = conn.Exec(ctx, `INSERT INTO adsync_changes (run_id, seq, org_id, kind, rule, user_id, user_label, contact_id,
			contact_label, fields, active, resolution, outcome, error, at, put_id)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10::jsonb,$11,$12,$13,$14,$15,$16)`, c.RunID, c.Seq, c.OrgID, string(c.Kind), c.Rule,
			c.UserID, c.User, c.ContactID, c.Contact, jsonText(fields), c.Active, c.Resolution, string(c.Outcome), c.Error, ts(c.At), put)
		require.NoError(t, err)
		want = append(want, c)
	}
	yes := true
	marked := at.Add(time.Minute)
	// Seq 0 put before the mark of [0, 2) (put 2): written; seq 1 put
	// again after it (put 3): still unknown.
	insert(adsync.ChangeRecord{OrgID: "org-a", RunID: 1, Seq: 0, Change: adsync.Change{Kind: adsync.ChangeReactivate, Rule: "R-MATCH-2",
		UserID: "user-é", User: "Zoë O'Brien <zoe@example.test> (user-é)", ContactID: 4711, Contact: "Zoë OBrien", Resolution: true,
		Active: &yes, Fields: []adsync.FieldChange{{Field: adsync.Title, After: "Ünïcode ✓"}}},
		Outcome: adsync.OutcomeUnknown, At: at}, 1)
	insert(adsync.ChangeRecord{OrgID: "org-a", RunID: 1, Seq: 1, Change: adsync.Change{Kind: adsync.ChangeDeactivate, Rule: "R-DEACT-1",
		UserID: "u-gone", User: "Gone", ContactID: 4711}, Outcome: adsync.OutcomeUnknown, At: at}, 3)
	insert(adsync.ChangeRecord{OrgID: "org-a", RunID: 1, Seq: 2, Change: adsync.Change{Kind: adsync.ChangeCreate, Rule: "R-MATCH-5",
		UserID: "u-new", User: "New User", ContactID: 4712}, Outcome: adsync.OutcomeFailed, Error: "refused", At: at}, 1)
	_, err = conn.Exec(ctx, `INSERT INTO adsync_change_marks (run_id, put_id, from_seq, to_seq, at) VALUES (1, 2, 0, 3, $1)`, marked)
	require.NoError(t, err)
	want[0].Outcome, want[0].At = adsync.OutcomeWritten, marked
	for seq := range 1200 { // more than a batch row holds
		insert(adsync.ChangeRecord{OrgID: "org-a", RunID: 2, Seq: seq, Change: adsync.Change{Kind: adsync.ChangeUpdate, Rule: "R-FIELD-3",
			UserID: fmt.Sprintf("u%04d", seq), User: "U", ContactID: int64(5000 + seq),
			Fields: []adsync.FieldChange{{Field: adsync.Title, Before: "a", After: "b"}}}, Outcome: adsync.OutcomeWritten, At: at}, 4)
	}

	s, err := Open(ctx, dsn, nil)
	require.NoError(t, err)
	defer s.Close()
	var got []adsync.ChangeRecord
	for f := (adsync.ChangeFilter{Limit: 500}); ; {
		page, err := s.Changes(ctx, "org-a", f)
		require.NoError(t, err)
		got = append(got, page...)
		if len(page) < f.PageSize() {
			break
		}
		f.AfterRun, f.AfterSeq = page[len(page)-1].RunID, page[len(page)-1].Seq
	}
	require.Equal(t, want, got)

	byContact, err := s.Changes(ctx, "org-a", adsync.ChangeFilter{ContactID: 4711})
	require.NoError(t, err)
	require.Equal(t, want[:2], byContact)
	byUser, err := s.Changes(ctx, "org-a", adsync.ChangeFilter{UserID: "u0700"})
	require.NoError(t, err)
	require.Equal(t, []adsync.ChangeRecord{want[3+700]}, byUser)

	var old bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT to_regclass('adsync_changes') IS NOT NULL OR to_regclass('adsync_change_marks') IS NOT NULL`).Scan(&old))
	require.False(t, old, "the old tables are dropped")
}
