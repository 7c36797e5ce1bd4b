UPDATE alert_deliveries SET status = :status, sent_at = CASE WHEN :status = 'sent' THEN :now END
WHERE delivery_id = :delivery_id AND status = 'sending'
