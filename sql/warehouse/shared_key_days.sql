-- Arrival days outside the batch being ingested ($days) with a snapshot row whose 8-byte key a valid staged
-- row shares. Only the key column of all history is scanned here (not even the status: a day that merely saw
-- the key again costs one more file read in seen_before.sql, which keeps the accepted rows); ids and content
-- are then read from these days alone.
SELECT DISTINCT arrival_day
FROM events
WHERE NOT list_contains($days, arrival_day)
  AND event_key IN (SELECT event_key FROM staged WHERE reason IS NULL)
