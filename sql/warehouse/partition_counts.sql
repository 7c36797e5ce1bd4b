-- What an arrival day's partition holds: its snapshot rows ($path) by status and quarantine reason.
SELECT status, reason, count(*) AS rows FROM read_parquet($path) GROUP BY ALL
