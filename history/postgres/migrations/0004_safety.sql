-- adsync history, schema version 4: the safety features (issue 17).

-- When a full read first missed the link's user (R-DEACT-7), NULL while in
-- scope.
ALTER TABLE adsync_links ADD COLUMN missing_since timestamptz;

-- The user's AD objectGUID for a link made from Entra ID (R-LINK-6).
ALTER TABLE adsync_links ADD COLUMN anchor text NOT NULL DEFAULT '';

-- Contacts the sync never deactivates (R-DEACT-9).
CREATE TABLE adsync_exemptions (
	org_id      text   NOT NULL,
	contact_id  bigint NOT NULL,
	reason      text   NOT NULL,
	exempted_by text   NOT NULL,
	created_at  timestamptz,
	PRIMARY KEY (org_id, contact_id)
);
