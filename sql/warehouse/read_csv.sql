-- A CSV snapshot file ($path) as text columns named by its header, with each row's file (snapshot_uri).
-- The dialect is fixed, never guessed: comma, double quote (doubled inside a quoted field), the first line
-- the header (skip = 0: left to guess, DuckDB skips the lines before the widest row), strict (an unbalanced
-- quote or a row with another number of fields fails the file instead of being read some other way). Not
-- read as hive partitions: the dt= folder is no column of the file.
SELECT *
FROM read_csv($path, header = true, skip = 0, delim = ',', quote = '"', escape = '"', comment = '', strict_mode = true,
              null_padding = false, all_varchar = true, encoding = 'utf-8', filename = 'snapshot_uri',
              hive_partitioning = false)
