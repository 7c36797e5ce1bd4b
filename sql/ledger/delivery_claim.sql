UPDATE alert_deliveries SET status = 'sending', claimed_at = :claimed_at
WHERE delivery_id = :delivery_id AND status = 'pending'
