-- adsync history, schema version 4: the safety features (issue 17).

-- When a full read first missed the link's user (R-DEACT-7), NULL while in
-- scope.
ALTER TABLE links ADD COLUMN missing_since INTEGER;

-- The user's AD objectGUID for a link made from Entra ID (R-LINK-6).
ALTER TABLE links ADD COLUMN anchor TEXT NOT NULL DEFAULT '';

-- Contacts the sync never deactivates (R-DEACT-9).
CREATE TABLE exemptions (
	org_id      TEXT    NOT NULL,
	contact_id  INTEGER NOT NULL,
	reason      TEXT    NOT NULL,
	exempted_by TEXT    NOT NULL,
	created_at  INTEGER,
	PRIMARY KEY (org_id, contact_id)
) WITHOUT ROWID;
