-- The rows staged of each snapshot file: a file read once has rows numbered 1 to its count.
SELECT arrival_day, source_file, count(*) AS rows, min(source_row) AS first_row, max(source_row) AS last_row
FROM staged
GROUP BY ALL
