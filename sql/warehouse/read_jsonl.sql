-- JSON Lines as text columns; a missing key reads as NULL and fails validation row by row. A line with a key
-- twice is ambiguous (DuckDB reads the first value, Python's json the last): its read_problem quarantines it.
SELECT json ->> 'event_id' AS event_id, json ->> 'occurred_at' AS occurred_at, json ->> 'tenant_id' AS tenant_id,
       json ->> 'user_id' AS user_id, json ->> 'service' AS service, json ->> 'metric' AS metric,
       json ->> 'workload' AS workload, json ->> 'quantity' AS quantity, snapshot_uri,
       CASE WHEN len(json_keys(json)) <> len(list_distinct(json_keys(json))) THEN 'duplicate key in a JSON line'
       END AS read_problem
FROM read_ndjson_objects($path, filename = 'snapshot_uri', hive_partitioning = false)
