-- Rows quarantined from the snapshot folders of a month, with what was read and why.
SELECT arrival_day, source_file, source_row, reason, event_id, occurred_at, tenant_id, user_id, service, metric,
       workload, quantity
FROM quarantine
WHERE arrival_day BETWEEN $first_day AND $last_day
ORDER BY arrival_day, source_file, source_row
