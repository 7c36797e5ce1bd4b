-- The adjustments a tenant's draft carries: those it carries already and the open ones of earlier periods.
SELECT adjustment_id, source_invoice_id, source_period, amount, reason, created_at, applied_invoice_id, kind
FROM adjustments
WHERE applied_invoice_id = :invoice_id
   OR (tenant_id = :tenant_id AND applied_invoice_id IS NULL AND source_period < :period)
ORDER BY source_period, adjustment_id
