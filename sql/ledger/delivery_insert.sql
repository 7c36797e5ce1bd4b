INSERT INTO alert_deliveries (delivery_id, alert_id, channel, recipient, user_id, status, attempts, next_attempt_at,
                              sent_at)
VALUES (:delivery_id, :alert_id, :channel, :recipient, :user_id, :status, 0, :now,
        CASE WHEN :status = 'sent' THEN :now END)
ON CONFLICT (delivery_id) DO NOTHING
