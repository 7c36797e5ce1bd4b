INSERT INTO plan_changes (tenant_id, effective, plan, source) VALUES (:tenant_id, :effective, :plan, :source)
