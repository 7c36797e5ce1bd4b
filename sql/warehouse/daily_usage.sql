-- Daily usage of one month by tenant, service, metric, workload and user, from accepted events
-- (attributed by occurred_at in UTC, whichever folder they arrived in). `quantity` sums counters;
-- `peak_reading` is the largest single reading, which is what a storage gauge is billed on.
CREATE OR REPLACE TEMP TABLE month_daily_usage AS
SELECT $period AS period, usage_day, tenant_id, service, metric, workload, user_id,
       sum(quantity) AS quantity, max(quantity) AS peak_reading, count(*) AS events
FROM usage_events
WHERE usage_day BETWEEN $first_day AND $last_day
  AND ($tenant_id IS NULL OR tenant_id = $tenant_id)
GROUP BY ALL
ORDER BY usage_day, tenant_id, service, metric, workload, user_id
