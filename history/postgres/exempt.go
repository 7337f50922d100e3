package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// Exemptions returns the organization's exempt contacts (R-DEACT-9).
func (s *Store) Exemptions(ctx context.Context, orgID string) ([]adsync.Exemption, error) {
	what := fmt.Sprintf("exemptions of organization %q", orgID)
	rows, err := s.pool.Query(ctx, `SELECT contact_id, reason, exempted_by, created_at FROM adsync_exemptions WHERE org_id=$1`, orgID)
	if err != nil {
		return nil, s.wrap(what, err)
	}
	es, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (adsync.Exemption, error) {
		e := adsync.Exemption{OrgID: orgID}
		var created pgtype.Timestamptz
		err := row.Scan(&e.ContactID, &e.Reason, &e.By, &created)
		e.CreatedAt = fromTS(created)
		return e, err
	})
	return es, s.wrap(what, err)
}

// PutExemption inserts or replaces the contact's exemption.
func (s *Store) PutExemption(ctx context.Context, e adsync.Exemption) error {
	if err := record.CheckExemption(e); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO adsync_exemptions (org_id, contact_id, reason, exempted_by, created_at)
		VALUES ($1,$2,$3,$4,$5) ON CONFLICT (org_id, contact_id) DO UPDATE SET reason=EXCLUDED.reason,
		exempted_by=EXCLUDED.exempted_by, created_at=EXCLUDED.created_at`,
		e.OrgID, e.ContactID, e.Reason, e.By, ts(e.CreatedAt))
	return s.wrap(fmt.Sprintf("put exemption of contact %d of organization %q", e.ContactID, e.OrgID), err)
}

// DeleteExemption removes the contact's exemption; ErrNotFound if none.
func (s *Store) DeleteExemption(ctx context.Context, orgID string, contactID int64) error {
	what := fmt.Sprintf("delete exemption of contact %d of organization %q", contactID, orgID)
	tag, err := s.pool.Exec(ctx, `DELETE FROM adsync_exemptions WHERE org_id=$1 AND contact_id=$2`, orgID, contactID)
	if err != nil {
		return s.wrap(what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("history/postgres: %s: %w", what, adsync.ErrNotFound)
	}
	return nil
}
