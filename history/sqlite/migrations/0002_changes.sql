-- Schema version 2: each run's change log (adsync.ChangeStore), removed
-- with its run. Kept compact: a first run logs one row per user (400,000).
-- There is no index by user: user ids come in random order, and keeping
-- such an index tripled the time a first run of 400,000 creates takes to
-- save its log. A user's changes are found by a scan in key order (one
-- pass, however many pages), a contact's through changes_by_contact.

CREATE TABLE changes (
	run_id        INTEGER NOT NULL,
	seq           INTEGER NOT NULL,
	org_id        TEXT    NOT NULL,
	kind          TEXT    NOT NULL,
	rule          TEXT    NOT NULL,
	user_id       TEXT    NOT NULL,
	user_label    TEXT    NOT NULL, -- without the " (user_id)" it ends with when flags has 2; "" when flags has 4
	contact_id    INTEGER NOT NULL,
	contact_label TEXT    NOT NULL,
	fields        BLOB,             -- per field: a code, the before and after values (record.EncodeFieldsCompact)
	active        INTEGER,          -- the isActive written; NULL: none
	flags         INTEGER NOT NULL, -- 1: made by a resolution; 2: user_label lost its " (user_id)" suffix;
	                                -- 4: user_label is "first last <email>" of the fields' values (a create's)
	outcome       TEXT    NOT NULL,
	error         TEXT    NOT NULL,
	at            INTEGER
);
-- A rowid table with the key in an index, not a WITHOUT ROWID table: rows
-- are appended, and SQLite fills the pages of a rowid table whole when it
-- appends (about 10 % smaller).
CREATE UNIQUE INDEX changes_key ON changes (run_id, seq);
CREATE INDEX changes_by_contact ON changes (contact_id);
