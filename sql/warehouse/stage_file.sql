-- Normalise snapshot files (exposed as the view snapshot_file, with each row's `snapshot_uri`, `source_row` and
-- `read_problem`: why the reader found the row ambiguous, or NULL) into `staged`, with their arrival day (the dt= folder), the first rule each row breaks (NULL when it breaks
-- none) and its dedup keys.
-- Text timestamps must carry a time of day and a UTC offset right after it (Z, or hours up to 23 and minutes up
-- to 59; RFC 3339 allows a lower case t and z); typed Parquet timestamps without a zone are UTC. The usage day
-- is the UTC date of occurred_at, taken from its epoch (a cast of TIMESTAMPTZ to DATE costs a time zone lookup).
-- Tenant, service, metric and workload are cast to their enums (ingest_tables.sql): NULL when not on the list.
-- The raw text of a value is kept only where it could not be parsed or is not on its list. The content hash
-- is of the text, so that it does not depend on an enum's codes. An id with a NUL in it is ambiguous (C code,
-- and many a tool, reads it cut at the NUL) and quarantined.
INSERT INTO staged
SELECT arrival_day, source_file, source_row, event_id, occurred_at, make_timestamp(epoch_us(occurred_at))::DATE,
       tenant_id, user_id, service, metric, workload, quantity,
       CASE WHEN occurred_at IS NULL THEN raw_occurred_at::VARCHAR END,
       CASE WHEN tenant_id IS NULL THEN tenant_text END,
       CASE WHEN service IS NULL THEN service_text END,
       CASE WHEN metric IS NULL THEN metric_text END,
       CASE WHEN workload IS NULL THEN workload_text END,
       CASE WHEN quantity IS NULL THEN raw_quantity::VARCHAR END,
       CASE
           WHEN read_problem IS NOT NULL THEN read_problem
           WHEN event_id IS NULL THEN 'missing event_id'
           WHEN contains(event_id, chr(0)) OR contains(user_id, chr(0)) THEN 'NUL character in an id'
           WHEN occurred_at IS NULL THEN 'bad timestamp'
           WHEN tenant_id IS NULL THEN 'unknown tenant'
           WHEN service IS NULL THEN 'unknown service'
           WHEN metric IS NULL THEN 'unknown metric'
           WHEN service = 'ml_service' AND metric = 'compute_minutes' AND workload IS NULL THEN 'unknown workload'
           WHEN NOT (service = 'ml_service' AND metric = 'compute_minutes') AND workload_text IS NOT NULL
               THEN 'unknown workload'
           WHEN quantity IS NULL THEN 'non-numeric quantity'
           WHEN quantity < 0 THEN 'negative quantity'
       END,
       hash(event_id),
       hash(occurred_at, tenant_text, user_id, service_text, metric_text, workload_text, quantity)
FROM (
    SELECT *,
           try_cast(tenant_text AS tenant_name) AS tenant_id,
           try_cast(service_text AS service_name) AS service,
           try_cast(metric_text AS metric_name) AS metric,
           try_cast(workload_text AS workload_name) AS workload
    FROM (
        SELECT regexp_extract(snapshot_uri, '/dt=(\d{4}-\d{2}-\d{2})/[^/]*$', 1)::DATE AS arrival_day,
               parse_filename(snapshot_uri, false, 'forward_slash') AS source_file, source_row,
               NULLIF(trim(event_id::VARCHAR), '') AS event_id,
               CASE WHEN NOT $timestamp_is_text THEN try_cast(occurred_at AS TIMESTAMPTZ)
                    WHEN regexp_matches(trim(occurred_at::VARCHAR), '(?i)\d:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)$')
                        THEN try_cast(upper(occurred_at::VARCHAR) AS TIMESTAMPTZ) END AS occurred_at,
               NULLIF(trim(tenant_id::VARCHAR), '') AS tenant_text,
               NULLIF(trim(user_id::VARCHAR), '') AS user_id,
               NULLIF(trim(service::VARCHAR), '') AS service_text,
               NULLIF(trim(metric::VARCHAR), '') AS metric_text,
               NULLIF(trim(workload::VARCHAR), '') AS workload_text,
               try_cast(quantity AS DECIMAL(38, 9)) AS quantity,
               occurred_at AS raw_occurred_at,
               quantity AS raw_quantity,
               read_problem
        FROM snapshot_file
    )
)
