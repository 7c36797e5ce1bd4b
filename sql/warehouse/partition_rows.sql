-- The snapshot rows of the partition of arrival day $arrival_day: one per row read, with its status (see
-- classify.sql), the reason of a quarantine and the dedup key (event_id, event_key, content_hash). A row
-- that was not billed keeps what was read in `detail`; a billed row is found again in its file by
-- source_file and source_row, and its usage is in the day's usage sums (partition_usage.sql).
SELECT status, arrival_day, source_file, source_row, reason, event_id, event_key, content_hash,
       CASE WHEN status <> 'quarantined' THEN usage_day END AS usage_day,
       CASE WHEN status <> 'accepted' THEN to_json({
           occurred_at: coalesce(raw_occurred_at, occurred_at::VARCHAR), tenant_id: coalesce(raw_tenant_id, tenant_id::VARCHAR),
           user_id: user_id, service: coalesce(raw_service, service::VARCHAR), metric: coalesce(raw_metric, metric::VARCHAR),
           workload: coalesce(raw_workload, workload::VARCHAR), quantity: coalesce(raw_quantity, quantity::VARCHAR)
       }) END AS detail
FROM classified
WHERE arrival_day = $arrival_day
