SELECT tenant_id, metric, sum(quantity) AS quantity FROM month_usage GROUP BY ALL ORDER BY ALL
