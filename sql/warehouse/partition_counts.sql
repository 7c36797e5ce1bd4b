-- What an arrival day's partition file holds: its snapshot rows by status and quarantine reason.
SELECT status, reason, count(*) AS rows FROM read_parquet($path) WHERE status IS NOT NULL GROUP BY ALL
