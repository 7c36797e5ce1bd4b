SELECT request_id, tenant_id, plan, effective, status, requested_by, requested_at, decided_by, decided_at, reason
FROM plan_change_requests WHERE request_id = :request_id AND tenant_id = :tenant_id
