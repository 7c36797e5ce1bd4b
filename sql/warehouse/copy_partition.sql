-- One partition file, from the view named $view. Columns with more than a few distinct values (ids, keys,
-- tenants) skip the dictionary the writer would build and then drop: zstd makes the file as small, and it
-- writes faster.
COPY (FROM query_table($view)) TO $path (FORMAT parquet, COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1000, KV_METADATA {fingerprint: $fingerprint})
