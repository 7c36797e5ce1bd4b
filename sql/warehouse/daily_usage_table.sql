-- The month's daily usage (daily_usage.sql, as the view daily_usage_rows) as a table, for one-off readers.
CREATE OR REPLACE TEMP TABLE month_daily_usage AS SELECT $period AS period, * FROM daily_usage_rows
