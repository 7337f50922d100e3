-- Schema version 2: each run's change log (adsync.ChangeStore), removed
-- with its run. Kept compact: a first run logs one row per user (400,000).

CREATE TABLE changes (
	run_id        INTEGER NOT NULL,
	seq           INTEGER NOT NULL,
	org_id        TEXT    NOT NULL,
	kind          TEXT    NOT NULL,
	rule          TEXT    NOT NULL,
	user_id       TEXT    NOT NULL,
	user_label    TEXT    NOT NULL,
	contact_id    INTEGER NOT NULL,
	contact_label TEXT    NOT NULL,
	fields        TEXT,             -- JSON [[field, before, after], ...]
	active        INTEGER,          -- the isActive written; NULL: none
	resolution    INTEGER NOT NULL,
	outcome       TEXT    NOT NULL,
	error         TEXT    NOT NULL,
	at            INTEGER,
	PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX changes_by_user ON changes (org_id, user_id);
CREATE INDEX changes_by_contact ON changes (org_id, contact_id);
