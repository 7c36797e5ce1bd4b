-- Readers see the warehouse through views over the Parquet partitions: `events` (the snapshot rows of every
-- arrival day, see partition_rows.sql) and `arrival_usage` (their usage sums, see partition_usage.sql) are
-- made by Warehouse.refresh; these build on them.
CREATE OR REPLACE TEMP VIEW usage_events AS SELECT * FROM events WHERE status = 'accepted';
CREATE OR REPLACE TEMP VIEW quarantine AS
SELECT arrival_day, source_file, source_row, reason, event_id,
       detail ->> 'occurred_at' AS occurred_at, detail ->> 'tenant_id' AS tenant_id, detail ->> 'user_id' AS user_id,
       detail ->> 'service' AS service, detail ->> 'metric' AS metric, detail ->> 'workload' AS workload,
       detail ->> 'quantity' AS quantity
FROM events WHERE status = 'quarantined';
