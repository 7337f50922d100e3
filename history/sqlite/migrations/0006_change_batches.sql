-- Schema version 6: the change log in batch rows (issue 12: a daily run's
-- log cost more than its links). One row per call of the Syncer (at most
-- 500 records) instead of one per record with two index entries each: the
-- records encoded together (record.EncodeBatch), a key blob of each
-- record's contact id and user id hash (16 bytes per record, in order)
-- that instr() scans for "changes of contact X / user U", and the range
-- the row was last marked written with (24 bytes, fixed size, so that
-- PutOutcomes overwrites it in place). A record lives in one row; first_seq
-- and last_seq bound the seqs of the row's records.
--
-- The store converts the rows of changes into batch rows after this
-- script, then drops changes (convertChanges in the package's Go code).

CREATE TABLE change_batches (
	org_id    TEXT    NOT NULL,
	run_id    INTEGER NOT NULL,
	first_seq INTEGER NOT NULL,
	last_seq  INTEGER NOT NULL,
	mark      BLOB    NOT NULL,
	keys      BLOB    NOT NULL,
	records   BLOB    NOT NULL
);
CREATE INDEX change_batches_key ON change_batches (org_id, run_id, first_seq, last_seq);
