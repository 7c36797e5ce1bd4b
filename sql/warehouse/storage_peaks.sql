-- Daily storage peak per tenant: the day's largest reading (readings are totals, never summed).
CREATE OR REPLACE TEMP TABLE month_storage_peaks AS
SELECT period, usage_day, tenant_id, max(peak_reading) AS peak_gb
FROM month_daily_usage
WHERE metric = 'storage_gb'
GROUP BY ALL
ORDER BY usage_day, tenant_id
