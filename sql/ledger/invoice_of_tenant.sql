SELECT invoice_id, invoice_number, tenant_id, period, state, status, currency, subtotal, tax_rate, tax, total,
       payment_method_type, issued_at, due_date, pdf_key, created_at, updated_at, finalized_at
FROM invoices WHERE tenant_id = :tenant_id AND (invoice_id = :invoice_id OR invoice_number = :invoice_id)
