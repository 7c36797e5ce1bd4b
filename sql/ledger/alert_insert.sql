INSERT INTO alerts (alert_id, tenant_id, period, subject, level, message, delivered, created_at)
VALUES (:alert_id, :tenant_id, :period, :subject, :level, :message, :delivered, :now)
ON CONFLICT (tenant_id, period, subject, level) DO NOTHING
