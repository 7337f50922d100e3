-- Schema version 6: no change. The number is kept for another change of
-- the schema developed at the same time; a database at this version is
-- the same as at version 5.
SELECT 1;
