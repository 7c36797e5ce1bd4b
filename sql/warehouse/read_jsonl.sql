-- JSON Lines as text columns; a missing key reads as NULL and fails validation row by row. A line with a key
-- twice is ambiguous (DuckDB reads the first value, Python's json the last): its read_problem quarantines it.
-- A quantity written as a JSON number is read as the digits written, as CSV reads them: DuckDB's JSON functions
-- give numbers as doubles (1234567890.123456789 would be 1234567890.1234567). The digits come from the line's
-- raw text: of the numbers written after a "quantity" key, the one whose double is the top-level value (a nested
-- "quantity" is another number). Only a key spelled with \u escapes falls back to the double's text.
SELECT json ->> 'event_id' AS event_id, json ->> 'occurred_at' AS occurred_at, json ->> 'tenant_id' AS tenant_id,
       json ->> 'user_id' AS user_id, json ->> 'service' AS service, json ->> 'metric' AS metric,
       json ->> 'workload' AS workload,
       CASE WHEN json_type(json -> 'quantity') IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN coalesce(list_filter(
                regexp_extract_all(json, '"quantity"\s*:\s*(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)', 1),
                lambda digits: try_cast(digits AS DOUBLE) = (json -> 'quantity')::DOUBLE)[1], json ->> 'quantity')
            ELSE json ->> 'quantity' END AS quantity,
       snapshot_uri,
       CASE WHEN len(json_keys(json)) <> len(list_distinct(json_keys(json))) THEN 'duplicate key in a JSON line'
       END AS read_problem
FROM read_ndjson_objects($path, filename = 'snapshot_uri', hive_partitioning = false)
