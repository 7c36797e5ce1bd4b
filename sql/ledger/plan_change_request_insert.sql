INSERT INTO plan_change_requests (request_id, tenant_id, plan, effective, status, requested_by, requested_at)
VALUES (:request_id, :tenant_id, :plan, :effective, 'pending', :requested_by, :now)
