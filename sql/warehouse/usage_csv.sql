-- A tenant's daily usage of a month as rows for a CSV file, from month_daily_usage (daily_usage_table.sql).
SELECT usage_day, service, metric, workload, user_id, quantity, peak_reading, events
FROM month_daily_usage
WHERE tenant_id = $tenant_id
ORDER BY usage_day, service, metric, workload NULLS FIRST, user_id NULLS FIRST
