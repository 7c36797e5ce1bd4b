INSERT INTO tenants (tenant_id, name, country, plan, contract_monthly_fee, tax_rate,
                     payment_method_type, stripe_payment_method, tax_id, created_at, updated_at)
VALUES (:tenant_id, :name, :country, :plan, :contract_monthly_fee, :tax_rate,
        :payment_method_type, :stripe_payment_method, :tax_id, :now, :now)
ON CONFLICT (tenant_id) DO UPDATE SET
    name = excluded.name,
    country = excluded.country,
    plan = excluded.plan,
    contract_monthly_fee = excluded.contract_monthly_fee,
    tax_rate = excluded.tax_rate,
    payment_method_type = excluded.payment_method_type,
    stripe_payment_method = excluded.stripe_payment_method,
    tax_id = excluded.tax_id,
    updated_at = excluded.updated_at
