SELECT tenant_id, amount_usd, channels FROM budgets ORDER BY tenant_id, position
