-- Parquet snapshot files ($files) with each row's file (snapshot_uri: a name no snapshot column is likely to
-- have) and its row number in that file. Not read as hive partitions: the dt= folder is no column of the file.
SELECT * FROM read_parquet($files, filename = 'snapshot_uri', file_row_number = true, hive_partitioning = false)
