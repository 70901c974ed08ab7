-- PostgreSQL moves to native types in this release (timestamptz, boolean, numeric). SQLite
-- keeps its equivalents, which already hold the same values: moments as fixed-width RFC 3339
-- text in UTC, flags as 0 or 1, rates as decimal text. Nothing to convert here.
SELECT 1;
