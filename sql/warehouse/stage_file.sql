-- Normalise one snapshot file (exposed as the view snapshot_file) into `staged`.
-- Text timestamps must carry a UTC offset; typed Parquet timestamps without a zone are UTC.
-- The raw text of a timestamp or quantity is kept only where it could not be parsed.
INSERT INTO staged
SELECT $arrival_day, $source_file, source_row, event_id, occurred_at, tenant_id, user_id, service, metric, workload,
       quantity,
       CASE WHEN occurred_at IS NULL THEN raw_occurred_at::VARCHAR END,
       CASE WHEN quantity IS NULL THEN raw_quantity::VARCHAR END
FROM (
    SELECT source_row,
           NULLIF(trim(event_id::VARCHAR), '') AS event_id,
           CASE WHEN $timestamp_is_text
                 AND NOT regexp_matches(trim(occurred_at::VARCHAR), '(?i)(z|[+-]\d{2}(:?\d{2})?)$') THEN NULL
                ELSE try_cast(occurred_at AS TIMESTAMPTZ) END AS occurred_at,
           NULLIF(trim(tenant_id::VARCHAR), '') AS tenant_id,
           NULLIF(trim(user_id::VARCHAR), '') AS user_id,
           NULLIF(trim(service::VARCHAR), '') AS service,
           NULLIF(trim(metric::VARCHAR), '') AS metric,
           NULLIF(trim(workload::VARCHAR), '') AS workload,
           try_cast(quantity AS DECIMAL(38, 9)) AS quantity,
           occurred_at AS raw_occurred_at,
           quantity AS raw_quantity
    FROM snapshot_file
)
