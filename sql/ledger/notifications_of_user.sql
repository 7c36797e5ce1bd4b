-- A tenant's in-app notifications, of one user, or of every user when no user is given.
SELECT d.delivery_id AS notification_id, a.alert_id, a.period, a.subject, a.level, a.message, d.user_id, d.sent_at,
       d.read_at
FROM alert_deliveries d JOIN alerts a ON a.alert_id = d.alert_id
WHERE a.tenant_id = :tenant_id AND d.channel = 'in_app' AND (:user_id IS NULL OR d.user_id = :user_id)
ORDER BY a.created_at DESC, d.delivery_id
