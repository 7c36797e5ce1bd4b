-- One partition file. Columns with more than a few distinct values (ids, keys, tenants) skip the
-- dictionary the writer would build and then drop: zstd makes the file as small, and it writes faster.
COPY partition_rows TO $path (FORMAT parquet, COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1000, KV_METADATA {fingerprint: $fingerprint})
