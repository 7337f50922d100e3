-- Schema version 3: the state of alerts (adsync.NoticeStore), one row per
-- organization ('' for none) and notice key.
CREATE TABLE adsync_notices (
	org_id     text        NOT NULL,
	key        text        NOT NULL,
	state      text        NOT NULL,
	prev_state text        NOT NULL, -- the state before the last change, for the claim's answer
	sent_at    timestamptz NOT NULL, -- the last send
	PRIMARY KEY (org_id, key)
);
