SELECT tenant_id, effective, plan FROM plan_changes WHERE source = 'api' ORDER BY tenant_id, effective
