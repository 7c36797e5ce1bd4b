SELECT attempt_id FROM payment_attempts WHERE status = 'processing' ORDER BY attempt_id
