-- adsync history, schema version 6: the change log in batch rows (issue 12:
-- a daily run's log cost more than its links). One row per call of the
-- Syncer (at most 500 records) instead of one per record with three index
-- entries each: the records encoded together (record.EncodeBatch), a key
-- blob of each record's contact id and user id hash (16 bytes per record,
-- in order) that position() scans for "changes of contact X / user U", and
-- the range the row was last marked written with (24 bytes). A record
-- lives in one row; first_seq and last_seq bound the seqs of the row's
-- records.
--
-- The store converts the records of adsync_changes, with the marks of
-- adsync_change_marks applied, into batch rows after this script, then
-- drops both (convertChanges in the package's Go code).

CREATE TABLE adsync_change_batches (
	org_id    text    NOT NULL,
	run_id    bigint  NOT NULL,
	first_seq integer NOT NULL,
	last_seq  integer NOT NULL,
	mark      bytea   NOT NULL,
	keys      bytea   NOT NULL,
	records   bytea   NOT NULL,
	PRIMARY KEY (org_id, run_id, first_seq)
);

-- The records and keys compressed with lz4 where the server has it
-- (PostgreSQL 14 and later, built with lz4, as the usual packages are):
-- about five times faster to write than the default pglz, for a blob of
-- half a batch's size. Elsewhere they keep the default.
DO $$
BEGIN
	EXECUTE 'ALTER TABLE adsync_change_batches ALTER COLUMN records SET COMPRESSION lz4, ALTER COLUMN keys SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
	NULL;
END
$$;
