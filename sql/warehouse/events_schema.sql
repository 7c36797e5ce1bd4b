-- One row per snapshot row read, written as one Parquet file per arrival day (the folder dt=...).
-- status: accepted (billed), duplicate (same event_id and content seen before; counted once),
-- quarantined (broke a rule; `reason` says which; raw_* keep what could not be parsed).
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
    raw_quantity VARCHAR
);

CREATE TEMP TABLE events_template AS
SELECT *, NULL::VARCHAR AS status, NULL::VARCHAR AS reason, NULL::DATE AS usage_day,
       NULL::UBIGINT AS event_key, NULL::UBIGINT AS content_hash
FROM staged WHERE false;
