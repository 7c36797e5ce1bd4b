-- Every staged row of the days being ingested (see stage_file.sql) with its status: accepted, duplicate or
-- quarantined, and the reason of a quarantine. A valid row whose event_id was accepted before (on a day
-- outside the batch, or earlier in the batch) is a duplicate when its content is the same, and quarantined
-- as a conflict when it is not: the first version seen stays billed. Only the suspects (see suspects.sql)
-- can be either. The two files of each day's partition are written from this view (partition_rows.sql and
-- partition_usage.sql).
CREATE VIEW classified AS
WITH decided AS NOT MATERIALIZED (
    SELECT s.* REPLACE (
               CASE
                   WHEN s.reason IS NOT NULL THEN s.reason
                   WHEN d.seen_content IS NOT NULL AND d.seen_content <> d.content_hash
                       THEN 'event_id seen before with different content'
                   WHEN d.seen_content IS NULL AND d.nth > 1 AND d.first_content <> d.content_hash
                       THEN 'event_id seen before with different content'
               END AS reason),
           d.seen_content IS NOT NULL OR d.nth > 1 AS repeated
    FROM staged s
    LEFT JOIN suspects d ON d.staged_row = s.rowid
)
SELECT * EXCLUDE (repeated),
       CASE WHEN reason IS NOT NULL THEN 'quarantined'::event_status WHEN repeated THEN 'duplicate'::event_status
            ELSE 'accepted'::event_status END AS status
FROM decided
