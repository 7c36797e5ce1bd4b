-- Reconciliation: accepted event quantities of a month by metric, straight from the events.
SELECT metric, sum(quantity) AS quantity, count(*) AS events
FROM usage_events WHERE usage_day BETWEEN $first_day AND $last_day AND metric <> 'storage_gb'
GROUP BY ALL ORDER BY ALL
