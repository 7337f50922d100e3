package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// A history at schema version 5 (one row per change record) opens, and its
// logged runs read back the same from batch rows: every field, the labels
// stored without their user id or as the create's fields, the contact and
// user filters, and a run of more records than a batch row holds.
func TestChangeLogFromSchema5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	var v5 int
	for i, m := range migrations {
		if isBatchMigration(m.Name) {
			v5 = i
			break
		}
	}
	require.NotZero(t, v5)
	for _, m := range migrations[:v5] {
		_, err := db.Exec(m.SQL)
		require.NoError(t, err, m.Name)
	}
	_, err = db.Exec(fmt.Sprintf("PRAGMA application_id=%d; PRAGMA user_version=%d", ApplicationID, v5))
	require.NoError(t, err)

	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	var want []adsync.ChangeRecord
	insert := func(c adsync.ChangeRecord, label string, flags int) {
		fields, err := record.EncodeFieldsCompact(c.Fields)
		require.NoError(t, err)
		var active any
		if c.Active != nil {
			active = *c.Active
		}
		var blob any
		if fields != nil {
			blob = fields
		}
		_, err = db.Exec(`INSERT INTO changes (run_id, seq, org_id, kind, rule, user_id, user_label, contact_id, contact_label,
			fields, active, flags, outcome, error, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, c.RunID, c.Seq, c.OrgID, string(c.Kind),
			c.Rule, c.UserID, label, c.ContactID, c.Contact, blob, active, flags, string(c.Outcome), c.Error, micros(c.At))
		require.NoError(t, err)
		want = append(want, c)
	}
	for run := int64(1); run <= 2; run++ {
		_, err := db.Exec(`INSERT INTO runs (id, org_id, trigger_kind, status, started, error, api_calls, tls, full_read, read_cursor,
			approved_run, details) VALUES (?, 'org-a', 'scheduled', 'succeeded', ?, '', 0, '', 0, '', 0, '{}')`, run, micros(at))
		require.NoError(t, err)
	}
	yes := true
	insert(adsync.ChangeRecord{OrgID: "org-a", RunID: 1, Seq: 0, Change: adsync.Change{Kind: adsync.ChangeReactivate, Rule: "R-MATCH-2",
		UserID: "user-é", User: "Zoë O'Brien <zoe@example.test> (user-é)", ContactID: 4711, Contact: "Zoë OBrien", Resolution: true,
		Active: &yes, Fields: []adsync.FieldChange{{Field: adsync.Title, After: "Ünïcode ✓"}}},
		Outcome: adsync.OutcomeFailed, Error: "validation failed", At: at}, "Zoë O'Brien <zoe@example.test>", oldFlagResolution|oldFlagLabelID)
	insert(adsync.ChangeRecord{OrgID: "org-a", RunID: 1, Seq: 1, Change: adsync.Change{Kind: adsync.ChangeCreate, Rule: "R-MATCH-5",
		UserID: "u-new", User: "New User <new@example.test> (u-new)", ContactID: 4712,
		Fields: []adsync.FieldChange{{Field: adsync.FirstName, After: "New"}, {Field: adsync.LastName, After: "User"},
			{Field: adsync.Email, After: "new@example.test"}}},
		Outcome: adsync.OutcomeWritten, At: at.Add(time.Second)}, "", oldFlagLabelID|oldFlagLabelNames)
	insert(adsync.ChangeRecord{OrgID: "org-a", RunID: 1, Seq: 2, Change: adsync.Change{Kind: adsync.ChangeDeactivate, Rule: "R-DEACT-1",
		UserID: "u-gone", User: "Gone", ContactID: 4711}, Outcome: adsync.OutcomeUnknown}, "Gone", 0)
	for seq := range 1200 { // more than a batch row holds
		insert(adsync.ChangeRecord{OrgID: "org-a", RunID: 2, Seq: seq, Change: adsync.Change{Kind: adsync.ChangeUpdate, Rule: "R-FIELD-3",
			UserID: fmt.Sprintf("u%04d", seq), User: "U", ContactID: int64(5000 + seq),
			Fields: []adsync.FieldChange{{Field: adsync.Title, Before: "a", After: "b"}}}, Outcome: adsync.OutcomeWritten, At: at}, "U", 0)
	}
	require.NoError(t, db.Close())

	s, err := Open(t.Context(), path, nil)
	require.NoError(t, err)
	defer s.Close()
	var got []adsync.ChangeRecord
	for f := (adsync.ChangeFilter{Limit: 500}); ; {
		page, err := s.Changes(t.Context(), "org-a", f)
		require.NoError(t, err)
		got = append(got, page...)
		if len(page) < f.PageSize() {
			break
		}
		f.AfterRun, f.AfterSeq = page[len(page)-1].RunID, page[len(page)-1].Seq
	}
	require.Equal(t, want, got)

	byContact, err := s.Changes(t.Context(), "org-a", adsync.ChangeFilter{ContactID: 4711})
	require.NoError(t, err)
	require.Equal(t, []adsync.ChangeRecord{want[0], want[2]}, byContact)
	byUser, err := s.Changes(t.Context(), "org-a", adsync.ChangeFilter{UserID: "u0700"})
	require.NoError(t, err)
	require.Equal(t, []adsync.ChangeRecord{want[3+700]}, byUser)

	var tables int
	require.NoError(t, s.r.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name='changes'`).Scan(&tables))
	require.Zero(t, tables, "the old table is dropped")
}
