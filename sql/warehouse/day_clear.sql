-- Empty the work tables of the day being ingested.
DELETE FROM staged;
DELETE FROM seen_before;
DELETE FROM suspects;
