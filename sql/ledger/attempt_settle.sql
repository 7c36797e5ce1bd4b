UPDATE payment_attempts SET status = :status, updated_at = :now WHERE attempt_id = :attempt_id AND status = 'processing'
