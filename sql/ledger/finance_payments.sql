-- Payments recorded for invoices: every charge attempt (payment_attempts) and every received transfer
-- (audit_log, event manual_payment), for the invoices of a range of months issued by a day.
-- unpaid_only = 1 keeps the invoices not paid (what AR aging needs).
SELECT i.invoice_id, i.tenant_id, i.payment_method_type AS method, a.attempt_id AS payment_id,
       a.amount_cents, CAST(NULL AS TEXT) AS amount, a.status, a.stripe_payment_intent_id AS reference,
       a.error_code, a.updated_at AS at
FROM payment_attempts a JOIN invoices i ON i.invoice_id = a.invoice_id
WHERE i.period BETWEEN :first_period AND :last_period AND i.issued_at <= :issued_by
  AND (:unpaid_only = 0 OR i.status <> 'paid')
UNION ALL
SELECT i.invoice_id, i.tenant_id, i.payment_method_type, l.audit_id, CAST(NULL AS INTEGER), l.amount,
       'received', l.details, CAST(NULL AS TEXT), l.at
FROM audit_log l JOIN invoices i ON i.invoice_id = l.invoice_id
WHERE l.event = 'manual_payment' AND i.period BETWEEN :first_period AND :last_period AND i.issued_at <= :issued_by
  AND (:unpaid_only = 0 OR i.status <> 'paid')
ORDER BY 1, 10, 4  -- invoice_id, at, payment_id
