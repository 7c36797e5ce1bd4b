-- Monthly usage: counters summed by tenant, service, metric, workload and user; storage as one row
-- per tenant holding the month's largest daily peak (attributed to the service that reported it).
-- Summing `quantity` by tenant and metric gives the billable quantity of every metric.
CREATE OR REPLACE TEMP TABLE month_usage AS
SELECT period, tenant_id, service, metric, workload, user_id, sum(quantity) AS quantity
FROM month_daily_usage
WHERE metric <> 'storage_gb'
GROUP BY ALL
UNION ALL
SELECT period, tenant_id, arg_max(service, peak_reading), 'storage_gb', NULL, NULL, max(peak_reading)
FROM month_daily_usage
WHERE metric = 'storage_gb'
GROUP BY period, tenant_id
ORDER BY tenant_id, service, metric, workload, user_id
