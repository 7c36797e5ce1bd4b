UPDATE payment_attempts SET status = :status, error_code = :error_code, updated_at = :now
WHERE attempt_id = :attempt_id AND status = 'processing'
