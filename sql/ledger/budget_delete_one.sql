DELETE FROM budgets WHERE tenant_id = :tenant_id AND position = :position
