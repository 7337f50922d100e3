-- Schema version 5: the link log. PutLinks and DeleteLinks append to it,
-- in the order of the writes, so a call writes a few pages at the end of
-- the file whatever its user ids; links, keyed by user id, would take a
-- page per link of a batch (random GUIDs), and a 400,000-user first run
-- rewrote 800,000 random pages that way. The store folds the log into
-- links in one transaction at the end of each run and when it grows
-- large. An organization's links are those in links, overlaid by its log
-- in seq order (the last row of a user wins; deleted = 1 removes it).

CREATE TABLE link_log (
	seq        INTEGER PRIMARY KEY, -- the order of the writes
	org_id     TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	deleted    INTEGER NOT NULL,
	contact_id INTEGER NOT NULL,
	created    INTEGER NOT NULL,
	pending    INTEGER NOT NULL,
	active     INTEGER NOT NULL,
	after_id   INTEGER NOT NULL,
	written    TEXT,
	linked_at  INTEGER,
	synced_at  INTEGER,
	missing_since INTEGER,
	anchor     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX link_log_by_org ON link_log (org_id, seq);
