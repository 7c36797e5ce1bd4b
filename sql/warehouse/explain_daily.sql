-- A tenant's usage of one metric per day of a month, with the events counted (for explaining an invoice line):
-- counters summed, storage the day's largest reading. Also names the arrival days it came in.
SELECT usage_day,
       CASE WHEN $metric = 'storage_gb' THEN max(peak_reading) ELSE sum(quantity) END AS quantity,
       sum(events) AS events,
       list(DISTINCT arrival_day ORDER BY arrival_day) AS arrival_days
FROM arrival_usage
WHERE tenant_id = $tenant_id AND metric = $metric AND usage_day BETWEEN $first_day AND $last_day
GROUP BY usage_day
ORDER BY usage_day
