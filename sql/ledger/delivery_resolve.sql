UPDATE alert_deliveries SET status = :status, attempts = attempts + 1, sent_at = CASE WHEN :status = 'sent' THEN :now END
WHERE delivery_id = :delivery_id AND status = 'sending'
