INSERT INTO audit_log (audit_id, at, actor, event, tenant_id, invoice_id, amount, details)
VALUES (:audit_id, :now, :actor, :event, :tenant_id, :invoice_id, :amount, :details)
