SELECT reason, count(*) AS rows FROM classified WHERE status = 'quarantined' GROUP BY reason ORDER BY rows DESC, reason
