-- One thread per query, for the whole session (see ingest.py, _write_partitions).
SET threads = 1;
