SELECT coalesce(sum(events), 0) AS events FROM month_daily_usage
