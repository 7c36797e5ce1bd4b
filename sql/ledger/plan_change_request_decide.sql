-- Once: a request already decided stays as it was decided.
UPDATE plan_change_requests SET status = :status, decided_by = :decided_by, decided_at = :now, reason = :reason
WHERE request_id = :request_id AND tenant_id = :tenant_id AND status = 'pending'
