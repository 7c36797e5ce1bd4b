SELECT d.delivery_id, a.subject, a.level, d.channel, d.recipient, d.status, d.attempts, d.last_error
FROM alert_deliveries d JOIN alerts a ON a.alert_id = d.alert_id
WHERE a.tenant_id = :tenant_id ORDER BY d.delivery_id
