SELECT adjustment_id, source_invoice_id, source_period, amount, reason, created_at, applied_invoice_id, kind
FROM adjustments WHERE source_invoice_id = :invoice_id ORDER BY adjustment_id
