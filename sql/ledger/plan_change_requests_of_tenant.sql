SELECT request_id, tenant_id, plan, effective, status, requested_by, requested_at, decided_by, decided_at, reason
FROM plan_change_requests WHERE tenant_id = :tenant_id AND (:status IS NULL OR status = :status)
ORDER BY requested_at DESC, request_id
