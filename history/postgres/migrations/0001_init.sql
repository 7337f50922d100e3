-- adsync history, schema version 1. Every table is prefixed adsync_ so that
-- the history can share a schema with other applications.

CREATE TABLE adsync_runs (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- a sequence: ids grow
	org_id       text    NOT NULL,
	trigger_kind text    NOT NULL,
	status       text    NOT NULL,
	started      timestamptz,
	ended        timestamptz,
	error        text    NOT NULL,
	api_calls    bigint  NOT NULL,
	tls          text    NOT NULL,
	full_read    boolean NOT NULL,
	read_cursor  text    NOT NULL,
	approved_run bigint  NOT NULL,
	details      jsonb   NOT NULL -- counts, warnings, skips, failures, held
);
CREATE INDEX adsync_runs_by_org ON adsync_runs (org_id, id);
CREATE INDEX adsync_runs_running ON adsync_runs (org_id) WHERE status = 'running';

CREATE TABLE adsync_links (
	org_id     text    NOT NULL,
	user_id    text    NOT NULL,
	contact_id bigint  NOT NULL,
	created    boolean NOT NULL,
	pending    boolean NOT NULL,
	active     boolean NOT NULL,
	after_id   bigint  NOT NULL,
	written    jsonb,
	linked_at  timestamptz,
	synced_at  timestamptz,
	PRIMARY KEY (org_id, user_id)
);

CREATE TABLE adsync_conflicts (
	org_id      text NOT NULL,
	user_id     text NOT NULL,
	label       text NOT NULL,
	kind        text NOT NULL,
	other_users jsonb,
	candidates  jsonb,
	detail      text NOT NULL,
	first_seen  timestamptz,
	last_seen   timestamptz,
	PRIMARY KEY (org_id, user_id)
);

CREATE TABLE adsync_resolutions (
	org_id      text   NOT NULL,
	user_id     text   NOT NULL,
	action      text   NOT NULL,
	contact_id  bigint NOT NULL,
	resolved_by text   NOT NULL,
	created_at  timestamptz,
	PRIMARY KEY (org_id, user_id)
);
