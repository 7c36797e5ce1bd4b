-- What an arrival day's partition holds: its snapshot rows ($path) by file, status and quarantine reason.
SELECT source_file, status, reason, count(*) AS rows FROM read_parquet($path) GROUP BY ALL
