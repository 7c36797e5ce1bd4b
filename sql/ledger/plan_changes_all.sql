SELECT tenant_id, effective, plan FROM plan_changes ORDER BY tenant_id, effective
