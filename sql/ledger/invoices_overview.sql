-- Invoices across tenants for operators: of a month and a status when given, of one tenant when given;
-- overdue first, then pending, then paid, each by due date.
SELECT invoice_id, invoice_number, tenant_id, period, state, status, currency, subtotal, tax_rate, tax, total,
       payment_method_type, issued_at, due_date, pdf_key, created_at, updated_at, finalized_at
FROM invoices
WHERE (:period IS NULL OR period = :period) AND (:status IS NULL OR status = :status)
  AND (:tenant_id IS NULL OR tenant_id = :tenant_id)
ORDER BY CASE status WHEN 'overdue' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, due_date, invoice_number
