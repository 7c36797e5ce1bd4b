UPDATE alert_deliveries SET status = :status, attempts = attempts + 1, last_error = :error, next_attempt_at = :next_attempt_at
WHERE delivery_id = :delivery_id AND status = 'sending'
