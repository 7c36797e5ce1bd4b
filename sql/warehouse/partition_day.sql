-- The partition of one arrival day, from its staged rows (see stage_file.sql). It holds two kinds of
-- rows, so that one file replaces both together:
--   row_type 'event': one per snapshot row read, with its status, reason and dedup key
--     (event_id, event_key, content_hash). Its fields are kept only where it was not billed
--     (duplicates and quarantine); a billed row is found again in its file by source_file and source_row.
--   row_type 'usage': the day's billed usage summed by usage day, tenant, service, metric, workload
--     and user, with the largest single reading (what a storage gauge bills) and the event count.
-- A valid row whose event_id was accepted before (on another day, or earlier in this day's folder by
-- file name and row) is a duplicate when its content is the same, and quarantined as a conflict when
-- it is not: the first version seen stays billed. Only rows whose 8-byte event_key repeats (here or
-- on another day) are compared closely, so the common case, an event seen once, costs one key probe.
WITH repeated_keys AS (
    SELECT event_key FROM staged WHERE reason IS NULL GROUP BY event_key HAVING count(*) > 1
),
-- Accepted events of other days that share a key with a valid row here.
seen_before AS (
    SELECT event_id, content_hash
    FROM usage_events
    WHERE arrival_day <> $day
      AND event_key IN (SELECT event_key FROM staged WHERE reason IS NULL)
),
suspects AS (
    SELECT s.source_file, s.source_row,
           row_number() OVER same_id AS nth,
           first_value(s.content_hash) OVER same_id AS first_content,
           s.content_hash,
           b.content_hash AS seen_content
    FROM (SELECT *
          FROM staged
          WHERE reason IS NULL
            AND (event_key IN (SELECT event_key FROM repeated_keys)
                 OR event_key IN (SELECT hash(event_id) FROM seen_before))) s
    LEFT JOIN seen_before b USING (event_id)
    WINDOW same_id AS (PARTITION BY s.event_id ORDER BY s.source_file, s.source_row)
),
decided AS NOT MATERIALIZED (
    SELECT s.* REPLACE (
               CASE
                   WHEN s.reason IS NOT NULL THEN s.reason
                   WHEN d.seen_content IS NOT NULL AND d.seen_content <> d.content_hash
                       THEN 'event_id seen before with different content'
                   WHEN d.seen_content IS NULL AND d.nth > 1 AND d.first_content <> d.content_hash
                       THEN 'event_id seen before with different content'
               END AS reason),
           d.seen_content IS NOT NULL OR d.nth > 1 AS repeated
    FROM staged s
    LEFT JOIN suspects d USING (source_file, source_row)
),
classified AS NOT MATERIALIZED (
    SELECT * EXCLUDE (repeated),
           CASE WHEN reason IS NOT NULL THEN 'quarantined' WHEN repeated THEN 'duplicate' ELSE 'accepted' END AS status
    FROM decided
)
SELECT 'event' AS row_type, arrival_day, source_file, source_row, status, reason, event_id, event_key, content_hash,
       CASE WHEN status <> 'quarantined' THEN occurred_at::DATE END AS usage_day,
       CASE WHEN status <> 'accepted' THEN occurred_at END AS occurred_at,
       CASE WHEN status <> 'accepted' THEN tenant_id END AS tenant_id,
       CASE WHEN status <> 'accepted' THEN user_id END AS user_id,
       CASE WHEN status <> 'accepted' THEN service END AS service,
       CASE WHEN status <> 'accepted' THEN metric END AS metric,
       CASE WHEN status <> 'accepted' THEN workload END AS workload,
       CASE WHEN status <> 'accepted' THEN quantity END AS quantity,
       raw_occurred_at, raw_quantity, NULL::DECIMAL(38, 9) AS peak_reading, NULL::BIGINT AS events
FROM classified
UNION ALL
SELECT 'usage', arrival_day, NULL, NULL, NULL, NULL, NULL, NULL, NULL, occurred_at::DATE, NULL, tenant_id, user_id,
       service, metric, workload, sum(quantity), NULL, NULL, max(quantity), count(*)
FROM classified
WHERE status = 'accepted'
GROUP BY arrival_day, occurred_at::DATE, tenant_id, user_id, service, metric, workload
