-- Classify the staged rows of one arrival day. A row is quarantined for the first rule it breaks;
-- a valid row whose event_id was accepted before (another day, or earlier in this day's files)
-- is a duplicate when its content is the same, and quarantined as a conflict when it is not:
-- the first version seen stays billed.
CREATE OR REPLACE TEMP TABLE classified AS
WITH checked AS (
    SELECT s.*,
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
           END AS reason,
           hash(event_id) AS event_key,
           hash(occurred_at, tenant_id, user_id, service, metric, workload, quantity) AS content_hash
    FROM staged s
),
-- Accepted events of other arrival days that share a key with a valid row here.
-- Only the 8-byte key column is scanned across all days; the full ids are compared after.
seen_before AS (
    SELECT event_id, content_hash
    FROM usage_events
    WHERE arrival_day <> $arrival_day
      AND event_key IN (SELECT event_key FROM checked WHERE reason IS NULL)
),
ranked AS (
    SELECT c.*,
           row_number() OVER same_id AS nth,
           first_value(c.content_hash) OVER same_id AS first_content,
           b.content_hash AS seen_content
    FROM checked c
    LEFT JOIN seen_before b USING (event_id)
    WHERE c.reason IS NULL
    WINDOW same_id AS (PARTITION BY c.event_id ORDER BY c.source_file, c.source_row)
),
decided AS (
    SELECT * EXCLUDE (nth, first_content, seen_content) REPLACE (
               CASE
                   WHEN seen_content IS NOT NULL AND seen_content <> content_hash
                       THEN 'event_id seen before with different content'
                   WHEN seen_content IS NULL AND nth > 1 AND first_content <> content_hash
                       THEN 'event_id seen before with different content'
               END AS reason),
           CASE WHEN seen_content IS NOT NULL OR nth > 1 THEN 'duplicate' ELSE 'accepted' END AS status
    FROM ranked
)
SELECT arrival_day, source_file, source_row, event_id, occurred_at, tenant_id, user_id, service, metric, workload,
       quantity, raw_occurred_at, raw_quantity,
       CASE WHEN reason IS NOT NULL THEN 'quarantined' ELSE status END AS status,
       reason,
       CASE WHEN reason IS NULL THEN occurred_at::DATE END AS usage_day,
       event_key, content_hash
FROM decided
UNION ALL BY NAME
SELECT * EXCLUDE (event_key, content_hash), 'quarantined' AS status, NULL::DATE AS usage_day, event_key, content_hash
FROM checked WHERE reason IS NOT NULL
