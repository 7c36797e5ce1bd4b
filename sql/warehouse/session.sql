-- Set up a DuckDB session on the warehouse: UTC, and the tables ingestion works in.
SET TimeZone = 'UTC';

-- Snapshot rows of the arrival day being ingested, normalised and checked (see stage_file.sql).
CREATE TEMP TABLE staged (
    arrival_day DATE NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    event_id VARCHAR,
    occurred_at TIMESTAMPTZ,
    tenant_id VARCHAR,
    user_id VARCHAR,
    service VARCHAR,
    metric VARCHAR,
    workload VARCHAR,
    quantity DECIMAL(38, 9),
    raw_occurred_at VARCHAR,
    raw_quantity VARCHAR,
    reason VARCHAR,
    event_key UBIGINT,
    content_hash UBIGINT
);

-- The layout of an arrival day's partition (see partition_day.sql), for a warehouse with none yet.
CREATE TEMP TABLE events_template AS
SELECT NULL::VARCHAR AS row_type, arrival_day, source_file, source_row, NULL::VARCHAR AS status,
       NULL::VARCHAR AS reason, event_id, NULL::UBIGINT AS event_key, NULL::UBIGINT AS content_hash,
       NULL::DATE AS usage_day, occurred_at, tenant_id, user_id, service, metric, workload, quantity,
       raw_occurred_at, raw_quantity, NULL::DECIMAL(38, 9) AS peak_reading, NULL::BIGINT AS events
FROM staged WHERE false;
