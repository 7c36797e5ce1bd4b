-- Every DuckDB session and cursor on the warehouse works in UTC: days, months and timestamps as text.
SET TimeZone = 'UTC';
