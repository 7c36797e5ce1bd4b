SELECT arrival_day, reason, count(*) AS rows FROM classified WHERE status = 'quarantined'
GROUP BY ALL ORDER BY arrival_day, rows DESC, reason
