UPDATE alert_deliveries SET read_at = :now
WHERE delivery_id = :notification_id AND channel = 'in_app' AND read_at IS NULL
  AND alert_id IN (SELECT alert_id FROM alerts WHERE tenant_id = :tenant_id)
