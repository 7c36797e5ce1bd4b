-- Accepted events of days outside the batch (their partition files: $files) that share a key with a valid staged row.
INSERT INTO seen_before
SELECT event_id, content_hash
FROM read_parquet($files, union_by_name = true)
WHERE status = 'accepted'
  AND event_key IN (SELECT event_key FROM staged WHERE reason IS NULL)
