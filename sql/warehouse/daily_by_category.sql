-- A tenant's usage per day and category, for charts, from month_daily_usage (see daily_usage_table.sql):
-- counters summed, storage the day's peak reading, compute in minutes, and the events counted.
SELECT usage_day,
       coalesce(sum(quantity) FILTER (WHERE metric = 'llm_tokens'), 0) AS llm_tokens,
       coalesce(sum(quantity) FILTER (WHERE metric = 'sql_queries'), 0) AS sql_queries,
       coalesce(max(peak_reading) FILTER (WHERE metric = 'storage_gb'), 0) AS storage_gb,
       coalesce(sum(quantity) FILTER (WHERE metric = 'api_requests'), 0) AS api_requests,
       coalesce(sum(quantity) FILTER (WHERE metric = 'compute_minutes'), 0) AS compute_minutes,
       sum(events) AS events
FROM month_daily_usage
WHERE tenant_id = $tenant_id
GROUP BY usage_day
ORDER BY usage_day
