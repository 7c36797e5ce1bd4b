-- Valid staged rows that may repeat an event: their 8-byte event_key repeats in the batch's folders or
-- is the key of an accepted event of a day outside it (seen_before). Only these are compared closely (see
-- classify.sql), so the common case, an event seen once, costs one key probe. Within the batch, the
-- first by arrival day, file name and row comes first.
INSERT INTO suspects
WITH repeated_keys AS (
    SELECT event_key FROM staged WHERE reason IS NULL GROUP BY event_key HAVING count(*) > 1
)
SELECT s.rowid,
       row_number() OVER same_id AS nth,
       first_value(s.content_hash) OVER same_id AS first_content,
       s.content_hash,
       b.content_hash AS seen_content
FROM (SELECT rowid, *
      FROM staged
      WHERE reason IS NULL
        AND (event_key IN (SELECT event_key FROM repeated_keys)
             OR event_key IN (SELECT hash(event_id) FROM seen_before))) s
LEFT JOIN seen_before b USING (event_id)
WINDOW same_id AS (PARTITION BY s.event_id ORDER BY s.arrival_day, s.source_file, s.source_row)
