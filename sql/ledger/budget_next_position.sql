SELECT coalesce(max(position) + 1, 0) FROM budgets WHERE tenant_id = :tenant_id
