UPDATE payment_attempts SET status = :status, stripe_payment_intent_id = :payment_intent, error_code = :error_code,
                            updated_at = :now
WHERE attempt_id = :attempt_id AND status = 'started'
