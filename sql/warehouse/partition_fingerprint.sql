SELECT value FROM parquet_kv_metadata($1) WHERE key = 'fingerprint'
