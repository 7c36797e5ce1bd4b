INSERT INTO budgets (tenant_id, position, amount_usd, channels) VALUES (:tenant_id, :position, :amount_usd, :channels)
