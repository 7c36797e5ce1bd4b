-- Final invoices issued by a day and not paid: the receivables AR aging ages.
SELECT invoice_id, invoice_number, tenant_id, period, status, total, due_date, issued_at
FROM invoices
WHERE state = 'final' AND status <> 'paid' AND issued_at <= :as_of
ORDER BY due_date, invoice_id
