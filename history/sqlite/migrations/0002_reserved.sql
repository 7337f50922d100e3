-- Reserved: schema version 2 is the change log, made on another branch.
-- This no-op keeps the numbering without gaps until it is merged, and is
-- then replaced by it.
SELECT 1;
