SELECT attempt_id, attempt_no, status, amount_cents, stripe_payment_intent_id, error_code, created_at
FROM payment_attempts WHERE invoice_id = :invoice_id ORDER BY attempt_no
