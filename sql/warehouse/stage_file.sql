-- Normalise one snapshot file (exposed as the view snapshot_file) into `staged`, with the first rule
-- each row breaks (NULL when it breaks none) and its dedup keys.
-- Text timestamps must carry a time of day and a UTC offset right after it (Z, or hours up to 23 and minutes up
-- to 59; RFC 3339 allows a lower case t and z); typed Parquet timestamps without a zone are UTC. The usage day
-- is the UTC date of occurred_at, taken from its epoch (a cast of TIMESTAMPTZ to DATE costs a time zone lookup).
-- The raw text of a timestamp or quantity is kept only where it could not be parsed.
INSERT INTO staged
SELECT $arrival_day, $source_file, source_row, event_id, occurred_at, make_timestamp(epoch_us(occurred_at))::DATE,
       tenant_id, user_id, service, metric, workload, quantity,
       CASE WHEN occurred_at IS NULL THEN raw_occurred_at::VARCHAR END,
       CASE WHEN quantity IS NULL THEN raw_quantity::VARCHAR END,
       CASE
           WHEN event_id IS NULL THEN 'missing event_id'
           WHEN occurred_at IS NULL THEN 'bad timestamp'
           WHEN tenant_id IS NULL OR tenant_id NOT IN (SELECT tenant_id FROM known_tenants) THEN 'unknown tenant'
           WHEN service IS NULL OR service NOT IN ('ai_service', 'query_engine', 'ml_service') THEN 'unknown service'
           WHEN metric IS NULL OR metric NOT IN ('llm_tokens', 'sql_queries', 'storage_gb', 'api_requests', 'compute_minutes')
               THEN 'unknown metric'
           WHEN service = 'ml_service' AND metric = 'compute_minutes'
                AND (workload IS NULL OR workload NOT IN ('training', 'serving')) THEN 'unknown workload'
           WHEN NOT (service = 'ml_service' AND metric = 'compute_minutes') AND workload IS NOT NULL
               THEN 'unknown workload'
           WHEN quantity IS NULL THEN 'non-numeric quantity'
           WHEN quantity < 0 THEN 'negative quantity'
       END,
       hash(event_id),
       hash(occurred_at, tenant_id, user_id, service, metric, workload, quantity)
FROM (
    SELECT source_row,
           NULLIF(trim(event_id::VARCHAR), '') AS event_id,
           CASE WHEN NOT $timestamp_is_text THEN try_cast(occurred_at AS TIMESTAMPTZ)
                WHEN regexp_matches(trim(occurred_at::VARCHAR), '(?i)\d:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)$')
                    THEN try_cast(upper(occurred_at::VARCHAR) AS TIMESTAMPTZ) END AS occurred_at,
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
