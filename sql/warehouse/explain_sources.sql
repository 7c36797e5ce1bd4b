-- The snapshot files and rows a tenant's billed events of one metric and month came from: the rows read again
-- into `staged` (see stage_days in ingest.py), matched with the billed rows of the warehouse by file and row.
SELECT s.arrival_day, s.source_file, count(*) AS rows, list(s.source_row ORDER BY s.source_row)[1:$sample] AS first_rows
FROM staged s
JOIN usage_events e ON e.arrival_day = s.arrival_day AND e.source_file = s.source_file AND e.source_row = s.source_row
WHERE s.tenant_id::VARCHAR = $tenant_id AND s.metric::VARCHAR = $metric
  AND e.usage_day BETWEEN $first_day AND $last_day
GROUP BY s.arrival_day, s.source_file
ORDER BY s.arrival_day, s.source_file
