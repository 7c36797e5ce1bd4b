-- The partition of one arrival day, from its staged rows (see stage_file.sql). It holds two kinds of
-- rows, so that one file replaces both together:
--   snapshot rows, one per row read, with a status (accepted, duplicate or quarantined), the reason of a
--     quarantine and the dedup key (event_id, event_key, content_hash). A row that was not billed keeps
--     what was read in `detail`; a billed row is found again in its file by source_file and source_row.
--   usage rows (no status): the day's billed usage summed by usage day, tenant, service, metric,
--     workload and user, with the event count and, for the storage gauge, the largest single reading
--     (what it is billed on; counters have no reading).
-- A valid row whose event_id was accepted before (on another day, or earlier in this day's folder) is a
-- duplicate when its content is the same, and quarantined as a conflict when it is not: the first
-- version seen stays billed. Only the suspects (see suspects.sql) can be either.
WITH decided AS NOT MATERIALIZED (
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
    LEFT JOIN suspects d ON d.staged_row = s.rowid
),
classified AS NOT MATERIALIZED (
    SELECT * EXCLUDE (repeated),
           CASE WHEN reason IS NOT NULL THEN 'quarantined'::event_status WHEN repeated THEN 'duplicate'::event_status
                ELSE 'accepted'::event_status END AS status
    FROM decided
)
SELECT status, arrival_day, source_file, source_row, reason, event_id, event_key, content_hash,
       CASE WHEN status <> 'quarantined' THEN usage_day END AS usage_day,
       CASE WHEN status <> 'accepted' THEN to_json({
           occurred_at: coalesce(raw_occurred_at, occurred_at::VARCHAR), tenant_id: tenant_id, user_id: user_id,
           service: service, metric: metric, workload: workload, quantity: coalesce(raw_quantity, quantity::VARCHAR)
       }) END AS detail,
       NULL AS tenant_id, NULL AS user_id, NULL AS service, NULL AS metric, NULL AS workload,
       NULL::DECIMAL(38, 9) AS quantity, NULL::DECIMAL(38, 9) AS peak_reading, NULL::BIGINT AS events
FROM classified
UNION ALL
SELECT NULL, arrival_day, NULL, NULL, NULL, NULL, NULL, NULL, usage_day, NULL, tenant_id, user_id, service, metric,
       workload, sum(quantity), CASE WHEN metric = 'storage_gb' THEN max(quantity) END, count(*)
FROM classified
WHERE status = 'accepted'
GROUP BY arrival_day, usage_day, tenant_id, user_id, service, metric, workload
