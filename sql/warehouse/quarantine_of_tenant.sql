-- Rows of a tenant quarantined from the snapshot folders of a month (by the tenant id they named), with why.
SELECT arrival_day, source_file, source_row, reason, event_id, occurred_at, user_id, service, metric, workload, quantity
FROM quarantine
WHERE tenant_id = $tenant_id AND arrival_day BETWEEN $first_day AND $last_day
ORDER BY arrival_day, source_file, source_row
