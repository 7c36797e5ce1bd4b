-- A month's rows as its monthly_usage partition file ($path) holds them, by tenant, each tenant's in the order
-- of monthly_usage_rows.sql: the copy WarehouseReader keeps of a closed month.
SELECT tenant_id, service, metric, workload, user_id, quantity
FROM read_parquet($path)
ORDER BY ALL
