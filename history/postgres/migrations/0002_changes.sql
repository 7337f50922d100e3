-- Schema version 2: each run's change log (adsync.ChangeStore), removed
-- with its run. Kept compact: a first run logs one row per user (400,000).

CREATE TABLE adsync_changes (
	run_id        bigint  NOT NULL,
	seq           integer NOT NULL,
	org_id        text    NOT NULL,
	kind          text    NOT NULL,
	rule          text    NOT NULL,
	user_id       text    NOT NULL,
	user_label    text    NOT NULL,
	contact_id    bigint  NOT NULL,
	contact_label text    NOT NULL,
	fields        jsonb,            -- [[field, before, after], ...]
	active        boolean,          -- the isActive written; NULL: none
	resolution    boolean NOT NULL,
	outcome       text    NOT NULL,
	error         text    NOT NULL,
	at            timestamptz,
	PRIMARY KEY (run_id, seq)
);
CREATE INDEX adsync_changes_by_user ON adsync_changes (org_id, user_id);
CREATE INDEX adsync_changes_by_contact ON adsync_changes (org_id, contact_id);
