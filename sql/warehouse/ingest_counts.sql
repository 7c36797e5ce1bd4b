SELECT arrival_day,
       count(*) AS rows_read,
       count(*) FILTER (WHERE status = 'accepted') AS accepted,
       count(*) FILTER (WHERE status = 'duplicate') AS duplicates,
       count(*) FILTER (WHERE status = 'quarantined') AS quarantined
FROM classified GROUP BY arrival_day
