-- The tables ingestion works in, after tenant_names.sql. Not temporary: the cursors that write a batch's
-- partition files at once read them too (see ingest.py).
-- Tenants, services, metrics and workloads are enums: a value that is not on its list casts to NULL, which is
-- how stage_file.sql finds it, and the day's usage sums group by their codes rather than by text (half the
-- cost of the GROUP BY). Parquet stores them as text.
CREATE TYPE service_name AS ENUM ('ai_service', 'query_engine', 'ml_service');
CREATE TYPE metric_name AS ENUM ('llm_tokens', 'sql_queries', 'storage_gb', 'api_requests', 'compute_minutes');
CREATE TYPE workload_name AS ENUM ('training', 'serving');

-- Snapshot rows of the arrival days being ingested, normalised and checked (see stage_file.sql). The raw_
-- columns keep what was read where it could not be parsed or is not on its list.
CREATE TABLE staged (
    arrival_day DATE NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    event_id VARCHAR,
    occurred_at TIMESTAMPTZ,
    usage_day DATE,
    tenant_id tenant_name,
    user_id VARCHAR,
    service service_name,
    metric metric_name,
    workload workload_name,
    quantity DECIMAL(38, 9),
    raw_occurred_at VARCHAR,
    raw_tenant_id VARCHAR,
    raw_service VARCHAR,
    raw_metric VARCHAR,
    raw_workload VARCHAR,
    raw_quantity VARCHAR,
    reason VARCHAR,
    event_key UBIGINT,
    content_hash UBIGINT
);

-- Accepted events of days outside the batch that share a key with a staged row (see seen_before.sql).
CREATE TABLE seen_before (event_id VARCHAR, content_hash UBIGINT);

-- Valid staged rows whose event_key repeats, in the batch or on another day (see suspects.sql), by their
-- rowid in staged.
CREATE TABLE suspects (
    staged_row BIGINT, nth BIGINT, first_content UBIGINT, content_hash UBIGINT,
    seen_content UBIGINT
);
