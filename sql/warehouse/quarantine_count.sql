-- Rows quarantined from the snapshot folders of the days checked (one ingestion run's partitions).
SELECT count(*) FROM quarantine WHERE arrival_day BETWEEN $first_day AND $last_day
