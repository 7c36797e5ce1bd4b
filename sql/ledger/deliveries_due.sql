SELECT d.delivery_id, d.alert_id, d.channel, d.recipient, d.attempts, a.tenant_id, a.period, a.subject, a.level, a.message
FROM alert_deliveries d JOIN alerts a ON a.alert_id = d.alert_id
WHERE d.status = 'pending' AND d.next_attempt_at <= :now
ORDER BY d.delivery_id
