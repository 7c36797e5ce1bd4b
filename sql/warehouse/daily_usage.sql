-- Daily usage of one month by tenant, service, metric, workload and user, from the billed usage of
-- every arrival day (events count for the day of their occurred_at in UTC, whichever folder they
-- arrived in). `quantity` sums counters; `peak_reading` is the largest single storage reading, which
-- is what the storage gauge is billed on.
-- Each arrival day's usage is already summed per usage day (see partition_usage.sql), so a usage-day
-- row from its own day's folder is final unless late or early events of the same key arrived in
-- another folder. Only those few keys are summed again; the rest pass through in arrival order
-- (day by day), which spares an aggregation of the whole month.
WITH month AS NOT MATERIALIZED (
    SELECT usage_day, tenant_id, service, metric, workload, user_id, quantity, peak_reading, events,
           usage_day = arrival_day AS on_its_day
    FROM arrival_usage
    WHERE usage_day BETWEEN $first_day AND $last_day
      AND ($tenant_id IS NULL OR tenant_id = $tenant_id)
),
off_day_keys AS MATERIALIZED (
    SELECT DISTINCT usage_day, tenant_id, service, metric, workload, user_id FROM month WHERE NOT on_its_day
),
marked AS NOT MATERIALIZED (
    SELECT m.*, k.usage_day IS NOT NULL AS to_merge
    FROM month m
    LEFT JOIN off_day_keys k
        ON k.usage_day = m.usage_day AND k.tenant_id = m.tenant_id AND k.service = m.service AND k.metric = m.metric
       AND k.workload IS NOT DISTINCT FROM m.workload AND k.user_id IS NOT DISTINCT FROM m.user_id
)
SELECT usage_day, tenant_id, service, metric, workload, user_id, quantity, peak_reading, events
FROM marked
WHERE NOT to_merge
UNION ALL
SELECT usage_day, tenant_id, service, metric, workload, user_id,
       sum(quantity), max(peak_reading), sum(events)
FROM marked
WHERE to_merge
GROUP BY usage_day, tenant_id, service, metric, workload, user_id
