INSERT INTO adjustments (adjustment_id, tenant_id, source_invoice_id, source_period, amount, reason, created_at, kind)
VALUES (:adjustment_id, :tenant_id, :source_invoice_id, :source_period, :amount, :reason, :now, :kind)
