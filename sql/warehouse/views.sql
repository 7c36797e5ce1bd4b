-- Readers see the warehouse through these views over the Parquet partitions (events_all, monthly_*).
CREATE OR REPLACE TEMP VIEW usage_events AS SELECT * FROM events_all WHERE status = 'accepted';
CREATE OR REPLACE TEMP VIEW quarantine AS
SELECT arrival_day, source_file, source_row, reason, event_id,
       coalesce(raw_occurred_at, occurred_at::VARCHAR) AS occurred_at, tenant_id, user_id, service, metric, workload,
       coalesce(raw_quantity, quantity::VARCHAR) AS quantity
FROM events_all WHERE status = 'quarantined';
