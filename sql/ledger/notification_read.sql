UPDATE alert_deliveries SET read_at = :now
WHERE delivery_id = :notification_id AND channel = 'in_app' AND read_at IS NULL
