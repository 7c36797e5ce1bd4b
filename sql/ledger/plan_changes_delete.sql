DELETE FROM plan_changes WHERE tenant_id = :tenant_id
