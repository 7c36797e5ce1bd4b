SELECT tenant_id, position, amount_usd, channels FROM budgets WHERE tenant_id = :tenant_id ORDER BY position
