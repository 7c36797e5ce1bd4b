INSERT INTO plan_changes (tenant_id, effective, plan) VALUES (:tenant_id, :effective, :plan)
