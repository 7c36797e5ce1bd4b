SELECT tenant_id FROM plan_change_requests WHERE request_id = :request_id
