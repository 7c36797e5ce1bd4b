-- Billable quantity per tenant and metric of a month, straight from the arrival days' usage sums:
-- counters summed; storage the largest reading of the month (the largest of the daily peaks).
-- Equal to monthly_totals.sql over the month's aggregates, without computing them.
SELECT tenant_id, metric, CASE WHEN metric = 'storage_gb' THEN max(peak_reading) ELSE sum(quantity) END AS quantity
FROM arrival_usage
WHERE usage_day BETWEEN $first_day AND $last_day
  AND ($tenant_id IS NULL OR tenant_id = $tenant_id)
GROUP BY tenant_id, metric
ORDER BY ALL
