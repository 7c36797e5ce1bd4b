SELECT metric, sum(quantity) AS quantity, sum(events) AS events
FROM month_daily_usage WHERE metric <> 'storage_gb' GROUP BY ALL ORDER BY ALL
