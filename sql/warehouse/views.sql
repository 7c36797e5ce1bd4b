-- Readers see the warehouse through these views over the Parquet partitions (see partition_day.sql):
-- snapshot rows have a status, the day's usage sums have none.
CREATE OR REPLACE TEMP VIEW events AS
SELECT status, arrival_day, source_file, source_row, reason, event_id, event_key, content_hash, usage_day, detail
FROM partitions_all WHERE status IS NOT NULL;
CREATE OR REPLACE TEMP VIEW usage_events AS SELECT * FROM events WHERE status = 'accepted';
CREATE OR REPLACE TEMP VIEW arrival_usage AS
SELECT arrival_day, usage_day, tenant_id, service, metric, workload, user_id, quantity, peak_reading, events
FROM partitions_all WHERE status IS NULL;
CREATE OR REPLACE TEMP VIEW quarantine AS
SELECT arrival_day, source_file, source_row, reason, event_id,
       detail ->> 'occurred_at' AS occurred_at, detail ->> 'tenant_id' AS tenant_id, detail ->> 'user_id' AS user_id,
       detail ->> 'service' AS service, detail ->> 'metric' AS metric, detail ->> 'workload' AS workload,
       detail ->> 'quantity' AS quantity
FROM events WHERE status = 'quarantined';
