SELECT tenant_id, effective, plan, source FROM plan_changes WHERE tenant_id = :tenant_id ORDER BY effective
