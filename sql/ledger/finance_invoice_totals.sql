-- The invoices of a range of months, their amounts and status: month over month.
SELECT invoice_id, period, tenant_id, status, subtotal, total
FROM invoices
WHERE period BETWEEN :first_period AND :last_period
ORDER BY period, invoice_id
