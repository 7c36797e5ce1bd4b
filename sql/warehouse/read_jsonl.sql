-- JSON Lines as text columns; a missing key reads as NULL and fails validation row by row.
SELECT json ->> 'event_id' AS event_id, json ->> 'occurred_at' AS occurred_at, json ->> 'tenant_id' AS tenant_id,
       json ->> 'user_id' AS user_id, json ->> 'service' AS service, json ->> 'metric' AS metric,
       json ->> 'workload' AS workload, json ->> 'quantity' AS quantity, snapshot_uri
FROM read_ndjson_objects($path, filename = 'snapshot_uri')
