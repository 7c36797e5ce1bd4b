-- An arrival day's partition holds two kinds of rows, so that one file replaces both together:
--   row_type 'event': one per snapshot row read, with its status, reason and dedup key
--     (event_id, event_key, content_hash). Its fields are kept only where it was not billed
--     (duplicates and quarantine); a billed row is found again in its file by source_file and source_row.
--   row_type 'usage': the day's billed usage summed by usage day, tenant, service, metric, workload
--     and user, with the largest single reading (what a storage gauge bills) and the event count.
SELECT 'event' AS row_type, arrival_day, source_file, source_row, status, reason, event_id, event_key, content_hash,
       usage_day,
       CASE WHEN status <> 'accepted' THEN occurred_at END AS occurred_at,
       CASE WHEN status <> 'accepted' THEN tenant_id END AS tenant_id,
       CASE WHEN status <> 'accepted' THEN user_id END AS user_id,
       CASE WHEN status <> 'accepted' THEN service END AS service,
       CASE WHEN status <> 'accepted' THEN metric END AS metric,
       CASE WHEN status <> 'accepted' THEN workload END AS workload,
       CASE WHEN status <> 'accepted' THEN quantity END AS quantity,
       raw_occurred_at, raw_quantity, NULL::DECIMAL(38, 9) AS peak_reading, NULL::BIGINT AS events
FROM classified
WHERE arrival_day = $day
UNION ALL
SELECT 'usage', arrival_day, NULL, NULL, NULL, NULL, NULL, NULL, NULL, usage_day, NULL, tenant_id, user_id, service,
       metric, workload, sum(quantity), NULL, NULL, max(quantity), count(*)
FROM classified
WHERE arrival_day = $day AND status = 'accepted'
GROUP BY arrival_day, usage_day, tenant_id, user_id, service, metric, workload
