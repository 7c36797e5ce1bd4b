-- Empty the work tables of the days being ingested.
DELETE FROM staged;
DELETE FROM seen_before;
DELETE FROM suspects;
