-- Reserved: schema version 3 is the notices (alert state), made on another
-- branch. This no-op keeps the numbering without gaps until it is merged,
-- and is then replaced by it.
SELECT 1;
