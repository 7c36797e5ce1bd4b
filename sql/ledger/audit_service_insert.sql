-- A change made through the Billing Service: who (from the token), in which role, what before and after (JSON).
INSERT INTO audit_log (audit_id, at, actor, actor_role, event, tenant_id, invoice_id, amount, details, before_value,
                       after_value)
VALUES (:audit_id, :now, :actor, :actor_role, :event, :tenant_id, :invoice_id, :amount, :details, :before_value,
        :after_value)
