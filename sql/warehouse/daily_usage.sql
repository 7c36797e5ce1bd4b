-- Daily usage of one month by tenant, service, metric, workload and user, from the billed usage of
-- every arrival day (events count for the day of their occurred_at in UTC, whichever folder they
-- arrived in). `quantity` sums counters; `peak_reading` is the largest single reading, which is
-- what a storage gauge is billed on.
CREATE OR REPLACE TEMP TABLE month_daily_usage AS
SELECT $period AS period, usage_day, tenant_id, service, metric, workload, user_id,
       sum(quantity) AS quantity, max(peak_reading) AS peak_reading, sum(events) AS events
FROM arrival_usage
WHERE usage_day BETWEEN $first_day AND $last_day
  AND ($tenant_id IS NULL OR tenant_id = $tenant_id)
GROUP BY ALL
-- Day by day, for readers of a few days; a finer order costs twice the aggregation.
ORDER BY usage_day
