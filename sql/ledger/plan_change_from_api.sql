-- A plan change made through the API; it replaces any change on the same day.
INSERT INTO plan_changes (tenant_id, effective, plan, source) VALUES (:tenant_id, :effective, :plan, 'api')
ON CONFLICT (tenant_id, effective) DO UPDATE SET plan = excluded.plan, source = excluded.source
