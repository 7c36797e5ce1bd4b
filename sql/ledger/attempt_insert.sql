INSERT INTO payment_attempts (attempt_id, invoice_id, attempt_no, status, amount_cents, created_at, updated_at)
VALUES (:attempt_id, :invoice_id, :attempt_no, 'started', :amount_cents, :now, :now)
