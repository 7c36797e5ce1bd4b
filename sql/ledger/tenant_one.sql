SELECT tenant_id, name, country, plan, contract_monthly_fee, tax_rate, payment_method_type, stripe_payment_method, tax_id
FROM tenants WHERE tenant_id = :tenant_id
