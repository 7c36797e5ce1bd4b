-- The usage sums of the partition of arrival day $arrival_day: its billed usage (see classify.sql) summed by
-- usage day, tenant, service, metric, workload and user, with the event count and, for the storage gauge,
-- the largest single reading (what it is billed on; counters have no reading).
SELECT arrival_day, usage_day, tenant_id, user_id, service, metric, workload,
       sum(quantity) AS quantity, CASE WHEN metric = 'storage_gb' THEN max(quantity) END AS peak_reading,
       count(*) AS events
FROM classified
WHERE arrival_day = $arrival_day AND status = 'accepted'
GROUP BY arrival_day, usage_day, tenant_id, user_id, service, metric, workload
