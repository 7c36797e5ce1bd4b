COPY partition_rows TO $path (FORMAT parquet, COMPRESSION zstd, KV_METADATA {fingerprint: $fingerprint})
