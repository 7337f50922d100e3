-- Schema version 3: the state of alerts (adsync.NoticeStore), one row per
-- organization ('' for none) and notice key.
CREATE TABLE notices (
	org_id     TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	state      TEXT    NOT NULL,
	prev_state TEXT    NOT NULL, -- the state before the last change, for the claim's answer
	sent_at    INTEGER NOT NULL, -- Unix microseconds of the last send
	PRIMARY KEY (org_id, key)
);
