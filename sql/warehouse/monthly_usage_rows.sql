SELECT tenant_id, service, metric, workload, user_id, quantity FROM month_usage ORDER BY ALL
