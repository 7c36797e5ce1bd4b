-- Alert deliveries not sent after a failure, per status, channel and error: what operators must fix.
SELECT status, channel, last_error, count(*) AS deliveries
FROM alert_deliveries
WHERE status IN ('pending', 'failed') AND last_error IS NOT NULL
GROUP BY status, channel, last_error
ORDER BY deliveries DESC, status, channel, last_error
