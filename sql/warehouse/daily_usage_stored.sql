-- A month's daily usage as its daily_usage partition file ($path) holds it; the period is the file's key.
SELECT $period AS period, * FROM read_parquet($path)
