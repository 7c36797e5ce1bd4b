-- The failed charge attempts of a month's invoices, for the operators' view of the close.
SELECT i.invoice_number, i.tenant_id, a.attempt_no, a.error_code, a.created_at
FROM payment_attempts a JOIN invoices i ON i.invoice_id = a.invoice_id
WHERE i.period = :period AND a.status = 'failed'
ORDER BY i.invoice_number, a.attempt_no
