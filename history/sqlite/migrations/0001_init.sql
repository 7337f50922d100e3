-- adsync history, schema version 1. Times are Unix microseconds, UTC;
-- NULL is the zero time. Lists and maps are JSON documents.

CREATE TABLE runs (
	id           INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, so ids grow
	org_id       TEXT    NOT NULL,
	trigger_kind TEXT    NOT NULL,
	status       TEXT    NOT NULL,
	started      INTEGER,
	ended        INTEGER,
	error        TEXT    NOT NULL,
	api_calls    INTEGER NOT NULL,
	tls          TEXT    NOT NULL,
	full_read    INTEGER NOT NULL,
	read_cursor  TEXT    NOT NULL,
	approved_run INTEGER NOT NULL,
	details      TEXT    NOT NULL -- counts, warnings, skips, failures, held
);
CREATE INDEX runs_by_org ON runs (org_id, id);
CREATE INDEX runs_running ON runs (status) WHERE status = 'running';

CREATE TABLE links (
	org_id     TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	contact_id INTEGER NOT NULL,
	created    INTEGER NOT NULL,
	pending    INTEGER NOT NULL,
	active     INTEGER NOT NULL,
	after_id   INTEGER NOT NULL,
	written    TEXT,
	linked_at  INTEGER,
	synced_at  INTEGER,
	PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;

CREATE TABLE conflicts (
	org_id      TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	label       TEXT NOT NULL,
	kind        TEXT NOT NULL,
	other_users TEXT,
	candidates  TEXT,
	detail      TEXT NOT NULL,
	first_seen  INTEGER,
	last_seen   INTEGER,
	PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;

CREATE TABLE resolutions (
	org_id      TEXT    NOT NULL,
	user_id     TEXT    NOT NULL,
	action      TEXT    NOT NULL,
	contact_id  INTEGER NOT NULL,
	resolved_by TEXT    NOT NULL,
	created_at  INTEGER,
	PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;
