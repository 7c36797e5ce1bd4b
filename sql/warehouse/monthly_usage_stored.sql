-- A month's monthly usage as its monthly_usage partition file ($path) holds it.
CREATE OR REPLACE TEMP TABLE month_usage AS SELECT * FROM read_parquet($path)
