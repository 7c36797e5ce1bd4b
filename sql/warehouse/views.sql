-- Readers see the warehouse through these views over the Parquet partitions (see partition_day.sql).
CREATE OR REPLACE TEMP VIEW events AS SELECT * FROM partitions_all WHERE row_type = 'event';
CREATE OR REPLACE TEMP VIEW usage_events AS SELECT * FROM events WHERE status = 'accepted';
CREATE OR REPLACE TEMP VIEW arrival_usage AS
SELECT arrival_day, usage_day, tenant_id, service, metric, workload, user_id, quantity, peak_reading, events
FROM partitions_all WHERE row_type = 'usage';
CREATE OR REPLACE TEMP VIEW quarantine AS
SELECT arrival_day, source_file, source_row, reason, event_id,
       coalesce(raw_occurred_at, occurred_at::VARCHAR) AS occurred_at, tenant_id, user_id, service, metric, workload,
       coalesce(raw_quantity, quantity::VARCHAR) AS quantity
FROM events WHERE status = 'quarantined';
