SELECT at, actor, event, amount, details FROM audit_log WHERE invoice_id = :invoice_id ORDER BY at, audit_id
