package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// Exemptions returns the organization's exempt contacts (R-DEACT-9).
func (s *Store) Exemptions(ctx context.Context, orgID string) ([]adsync.Exemption, error) {
	what := fmt.Sprintf("exemptions of organization %q", orgID)
	rows, err := s.r.QueryContext(ctx, `SELECT contact_id, reason, exempted_by, created_at FROM exemptions WHERE org_id=?`, orgID)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	defer rows.Close()
	var out []adsync.Exemption
	for rows.Next() {
		e := adsync.Exemption{OrgID: orgID}
		var created sql.NullInt64
		if err := rows.Scan(&e.ContactID, &e.Reason, &e.By, &created); err != nil {
			return nil, s.wrap(what, err)
		}
		e.CreatedAt = fromMicros(created)
		out = append(out, e)
	}
	return out, s.wrap(what, rows.Err())
}

// PutExemption inserts or replaces the contact's exemption.
func (s *Store) PutExemption(ctx context.Context, e adsync.Exemption) error {
	if err := record.CheckExemption(e); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO exemptions (org_id, contact_id, reason, exempted_by, created_at)
		VALUES (?,?,?,?,?)`, e.OrgID, e.ContactID, e.Reason, e.By, micros(e.CreatedAt))
	return s.wrap(fmt.Sprintf("put exemption of contact %d of organization %q", e.ContactID, e.OrgID), err)
}

// DeleteExemption removes the contact's exemption; ErrNotFound if none.
func (s *Store) DeleteExemption(ctx context.Context, orgID string, contactID int64) error {
	what := fmt.Sprintf("delete exemption of contact %d of organization %q", contactID, orgID)
	res, err := s.w.ExecContext(ctx, `DELETE FROM exemptions WHERE org_id=? AND contact_id=?`, orgID, contactID)
	if err != nil {
		return s.wrap(what, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("history/sqlite: %s: %w", what, adsync.ErrNotFound)
	}
	return nil
}
