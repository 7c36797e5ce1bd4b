SELECT subject, level FROM alerts WHERE tenant_id = :tenant_id AND period = :period
