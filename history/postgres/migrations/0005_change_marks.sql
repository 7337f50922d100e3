-- adsync history, schema version 5: outcomes recorded per batch (issue 12).
-- PutOutcomes says "the batch's records still unknown were written" with
-- one row of adsync_change_marks instead of an UPDATE of each record: an
-- updated row is a new tuple with an entry in each of the table's three
-- indexes, which doubled the cost of a daily run's log. Changes applies the
-- marks when it reads. A mark applies to the records of its run in
-- [from_seq, to_seq) still 'unknown' that were put before it: put_id
-- orders the calls (from adsync_change_puts), a record keeping the put_id
-- of the call that last put it, a mark that of the call that made it.

ALTER TABLE adsync_changes ADD COLUMN put_id bigint NOT NULL DEFAULT 0;

CREATE SEQUENCE adsync_change_puts;

CREATE TABLE adsync_change_marks (
	run_id   bigint  NOT NULL,
	put_id   bigint  NOT NULL,
	from_seq integer NOT NULL,
	to_seq   integer NOT NULL,
	at       timestamptz,
	PRIMARY KEY (run_id, put_id)
);
