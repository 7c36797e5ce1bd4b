-- Every tenant's pending plan change requests, oldest first: the operators' overview (one query, not one a tenant).
SELECT request_id, tenant_id, plan, effective, status, requested_by, requested_at, decided_by, decided_at, reason
FROM plan_change_requests WHERE status = 'pending'
ORDER BY requested_at, request_id
