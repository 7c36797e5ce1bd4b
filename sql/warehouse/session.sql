-- Set up a DuckDB session on the warehouse: UTC, and the tables ingestion works in.
SET TimeZone = 'UTC';

-- What became of a snapshot row. An enum is written to Parquet as its codes, cheaper than a string per row;
-- it reads back as text.
CREATE TYPE event_status AS ENUM ('accepted', 'duplicate', 'quarantined');

-- Snapshot rows of the arrival day being ingested, normalised and checked (see stage_file.sql).
CREATE TEMP TABLE staged (
    arrival_day DATE NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    event_id VARCHAR,
    occurred_at TIMESTAMPTZ,
    usage_day DATE,
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

-- Accepted events of other days that share a key with a staged row (see seen_before.sql).
CREATE TEMP TABLE seen_before (event_id VARCHAR, content_hash UBIGINT);

-- Valid staged rows whose event_key repeats, here or on another day (see suspects.sql), by their rowid in staged.
CREATE TEMP TABLE suspects (
    staged_row BIGINT, nth BIGINT, first_content UBIGINT, content_hash UBIGINT,
    seen_content UBIGINT
);

-- The layout of an arrival day's two partition files (see partition_rows.sql and partition_usage.sql), for a
-- warehouse with none yet.
CREATE TEMP TABLE events_template AS
SELECT NULL::VARCHAR AS status, arrival_day, source_file, source_row, reason, event_id, event_key, content_hash,
       usage_day, NULL::JSON AS detail
FROM staged WHERE false;
CREATE TEMP TABLE arrival_usage_template AS
SELECT arrival_day, usage_day, tenant_id, user_id, service, metric, workload, quantity,
       NULL::DECIMAL(38, 9) AS peak_reading, NULL::BIGINT AS events
FROM staged WHERE false;
