package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// batchMigration is the name's end of the migration that moves the change
// log into batch rows: convertChanges follows its script.
const batchMigration = "_change_batches.sql"

// Bits of the flags column of the changes table (schema versions 2 to 6).
const (
	oldFlagResolution = 1 // Change.Resolution
	oldFlagLabelID    = 2 // the label ended with " (user_id)", stored without it
	oldFlagLabelNames = 4 // the label was fieldsLabel of the fields, stored as ""
)

// convertChanges moves the rows of the changes table (one per record) into
// batch rows of at most record.BatchRecords records per run, in seq order,
// then drops it, within the migration's transaction.
func convertChanges(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT org_id, run_id, seq, kind, rule, user_id, user_label, contact_id, contact_label, fields,
		active, flags, outcome, error, at FROM changes ORDER BY run_id, seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var batch []adsync.ChangeRecord
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		data, keys, err := record.EncodeBatch(batch)
		if err != nil {
			return err
		}
		lo, hi := record.Bounds(batch)
		_, err = tx.ExecContext(ctx, `INSERT INTO change_batches (org_id, run_id, first_seq, last_seq, mark, keys, records)
			VALUES (?,?,?,?,?,?,?)`, batch[0].OrgID, batch[0].RunID, lo, hi, noMark, keys, data)
		batch = batch[:0]
		return err
	}
	for rows.Next() {
		var (
			c      adsync.ChangeRecord
			fields []byte
			active sql.NullBool
			flags  int
			at     sql.NullInt64
		)
		if err := rows.Scan(&c.OrgID, &c.RunID, &c.Seq, &c.Kind, &c.Rule, &c.UserID, &c.User, &c.ContactID, &c.Contact, &fields,
			&active, &flags, &c.Outcome, &c.Error, &at); err != nil {
			return err
		}
		if c.Fields, err = record.DecodeFieldsCompact(fields); err != nil {
			return fmt.Errorf("run %d change %d: %w", c.RunID, c.Seq, err)
		}
		c.Resolution = flags&oldFlagResolution != 0
		if flags&oldFlagLabelNames != 0 {
			c.User = record.FieldsLabel(c.Fields)
		}
		if flags&oldFlagLabelID != 0 {
			c.User += " (" + c.UserID + ")"
		}
		if active.Valid {
			c.Active = &active.Bool
		}
		c.At = fromMicros(at)
		if len(batch) > 0 && (batch[0].RunID != c.RunID || len(batch) == record.BatchRecords) {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	if err := flush(); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE changes`)
	return err
}

// isBatchMigration reports whether migration name is the one convertChanges
// follows.
func isBatchMigration(name string) bool { return strings.HasSuffix(name, batchMigration) }
