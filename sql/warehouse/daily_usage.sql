-- Daily usage of one month by tenant, service, metric, workload and user, from the billed usage of
-- every arrival day (events count for the day of their occurred_at in UTC, whichever folder they
-- arrived in). `quantity` sums counters; `peak_reading` is the largest single storage reading, which
-- is what the storage gauge is billed on. The period is the partition's key, not a column of its file.
-- Each arrival day's usage is already summed per usage day (see partition_day.sql), so a usage-day
-- row from its own day's folder is final unless late or early events of the same key arrived in
-- another folder. Only those few keys are summed again; the rest pass through in arrival order
-- (day by day), which spares an aggregation of the whole month.
CREATE OR REPLACE TEMP TABLE month_daily_usage AS
WITH month AS NOT MATERIALIZED (
    SELECT usage_day, tenant_id, service, metric, workload, user_id, quantity, peak_reading, events,
           usage_day = arrival_day AS on_its_day
    FROM arrival_usage
    WHERE usage_day BETWEEN $first_day AND $last_day
      AND ($tenant_id IS NULL OR tenant_id = $tenant_id)
),
off_day AS MATERIALIZED (
    SELECT * FROM month WHERE NOT on_its_day
)
SELECT $period AS period, usage_day, tenant_id, service, metric, workload, user_id, quantity, peak_reading, events
FROM month m
ANTI JOIN off_day o
    ON o.usage_day = m.usage_day AND o.tenant_id = m.tenant_id AND o.service = m.service AND o.metric = m.metric
   AND o.workload IS NOT DISTINCT FROM m.workload AND o.user_id IS NOT DISTINCT FROM m.user_id
WHERE m.on_its_day
UNION ALL
SELECT $period, usage_day, tenant_id, service, metric, workload, user_id,
       sum(quantity), max(peak_reading), sum(events)
FROM (SELECT m.*
      FROM month m
      SEMI JOIN off_day o
          ON o.usage_day = m.usage_day AND o.tenant_id = m.tenant_id AND o.service = m.service AND o.metric = m.metric
         AND o.workload IS NOT DISTINCT FROM m.workload AND o.user_id IS NOT DISTINCT FROM m.user_id
      WHERE m.on_its_day
      UNION ALL
      SELECT * FROM off_day)
GROUP BY usage_day, tenant_id, service, metric, workload, user_id
