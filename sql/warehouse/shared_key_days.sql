-- Other arrival days with an accepted event whose 8-byte key a valid staged row shares. Only the key
-- column of all history is scanned here; ids and content are then read from these days alone.
SELECT DISTINCT arrival_day
FROM usage_events
WHERE arrival_day <> $day
  AND event_key IN (SELECT event_key FROM staged WHERE reason IS NULL)
