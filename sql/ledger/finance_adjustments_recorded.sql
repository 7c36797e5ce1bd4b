-- Adjustments recorded between two moments (ISO text sorts as time): a month's adjustments.
SELECT adjustment_id, tenant_id, source_invoice_id, source_period, amount, reason, created_at, applied_invoice_id
FROM adjustments
WHERE created_at >= :since AND created_at < :until
ORDER BY created_at, adjustment_id
