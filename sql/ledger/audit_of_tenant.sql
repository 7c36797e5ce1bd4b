SELECT audit_id, at, actor, actor_role, event, tenant_id, invoice_id, amount, details, before_value, after_value
FROM audit_log WHERE tenant_id = :tenant_id ORDER BY at DESC, audit_id
