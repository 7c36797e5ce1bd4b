-- Carry a tenant's open adjustments from earlier periods to this draft invoice.
UPDATE adjustments SET applied_invoice_id = :invoice_id
WHERE tenant_id = :tenant_id AND applied_invoice_id IS NULL AND source_period < :period
