-- Classify the staged rows of a batch of arrival days. A row is quarantined for the first rule it
-- breaks; a valid row whose event_id was accepted before (on a day outside the batch, or earlier in
-- the batch by arrival day, file name and row)
-- is a duplicate when its content is the same, and quarantined as a conflict when it is not:
-- the first version seen stays billed.
-- Only rows whose 8-byte event_key repeats (here or on another day) are compared closely, so the
-- common case, an event seen once, costs one hash and one key probe.
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
repeated_keys AS (
    SELECT event_key FROM checked WHERE reason IS NULL GROUP BY event_key HAVING count(*) > 1
),
-- Accepted events of days outside the batch that share a key with a valid row here.
seen_before AS (
    SELECT event_id, content_hash
    FROM usage_events
    WHERE NOT list_contains($batch_days::DATE[], arrival_day)
      AND event_key IN (SELECT event_key FROM checked WHERE reason IS NULL)
),
suspects AS (
    SELECT c.arrival_day, c.source_file, c.source_row,
           row_number() OVER same_id AS nth,
           first_value(c.content_hash) OVER same_id AS first_content,
           c.content_hash,
           b.content_hash AS seen_content
    FROM (SELECT *
          FROM checked
          WHERE reason IS NULL
            AND (event_key IN (SELECT event_key FROM repeated_keys)
                 OR event_key IN (SELECT hash(event_id) FROM seen_before))) c
    LEFT JOIN seen_before b USING (event_id)
    WINDOW same_id AS (PARTITION BY c.event_id ORDER BY c.arrival_day, c.source_file, c.source_row)
),
decided AS (
    SELECT c.* REPLACE (
               CASE
                   WHEN c.reason IS NOT NULL THEN c.reason
                   WHEN s.seen_content IS NOT NULL AND s.seen_content <> s.content_hash
                       THEN 'event_id seen before with different content'
                   WHEN s.seen_content IS NULL AND s.nth > 1 AND s.first_content <> s.content_hash
                       THEN 'event_id seen before with different content'
               END AS reason),
           s.seen_content IS NOT NULL OR s.nth > 1 AS repeated
    FROM checked c
    LEFT JOIN suspects s USING (arrival_day, source_file, source_row)
)
SELECT arrival_day, source_file, source_row, event_id, occurred_at, tenant_id, user_id, service, metric, workload,
       quantity, raw_occurred_at, raw_quantity,
       CASE WHEN reason IS NOT NULL THEN 'quarantined' WHEN repeated THEN 'duplicate' ELSE 'accepted' END AS status,
       reason,
       CASE WHEN reason IS NULL THEN occurred_at::DATE END AS usage_day,
       event_key, content_hash
FROM decided
ORDER BY arrival_day
