-- Reconciliation: billed events of a month by their own rows and by the arrival-day usage sums.
SELECT (SELECT count(*) FROM usage_events WHERE usage_day BETWEEN $first_day AND $last_day) AS events,
       (SELECT coalesce(sum(events), 0) FROM arrival_usage WHERE usage_day BETWEEN $first_day AND $last_day) AS usage_events
