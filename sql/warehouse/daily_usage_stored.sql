-- A month's daily usage as the daily_usage asset wrote it (its file: $path).
CREATE OR REPLACE TEMP TABLE month_daily_usage AS SELECT $period AS period, * FROM read_parquet($path)
