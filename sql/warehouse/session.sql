-- Set up a DuckDB session on the warehouse (after time_zone.sql): what its views need before any partition exists.

-- What became of a snapshot row. An enum is written to Parquet as its codes, cheaper than a string per row;
-- it reads back as text.
CREATE TYPE event_status AS ENUM ('accepted', 'duplicate', 'quarantined');

-- The layout of an arrival day's two partition files (see partition_rows.sql and partition_usage.sql), for a
-- warehouse with none yet.
CREATE TEMP TABLE events_template (
    status VARCHAR, arrival_day DATE, source_file VARCHAR, source_row BIGINT, reason VARCHAR, event_id VARCHAR,
    event_key UBIGINT, content_hash UBIGINT, usage_day DATE, detail JSON
);
CREATE TEMP TABLE arrival_usage_template (
    arrival_day DATE, usage_day DATE, tenant_id VARCHAR, user_id VARCHAR, service VARCHAR, metric VARCHAR,
    workload VARCHAR, quantity DECIMAL(38, 9), peak_reading DECIMAL(38, 9), events BIGINT
);
