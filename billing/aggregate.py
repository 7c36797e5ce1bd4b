"""Monthly aggregation in DuckDB: daily usage, daily storage peaks and monthly usage of a period."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import duckdb

from billing.breakdown import UsageRow
from billing.directory import month_days
from billing.sql import query
from billing.warehouse import Warehouse


def compute_daily_usage(con: duckdb.DuckDBPyConnection, period: str, tenant_id: str | None = None) -> None:
    """Fill the temp table month_daily_usage from the accepted events of the month."""
    days = month_days(period)
    con.execute(query("warehouse/daily_usage"), {
        "period": period, "first_day": days[0], "last_day": days[-1], "tenant_id": tenant_id,
    })


def write_daily_usage(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, period: str) -> None:
    """Store month_daily_usage as the month's daily_usage partition; the period is its key, not a column."""
    warehouse.write_partition(con, "daily_usage", period, con.table("month_daily_usage").project("* EXCLUDE (period)"))


def read_daily_usage(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, period: str) -> None:
    """Fill month_daily_usage from the month's stored daily_usage partition."""
    path = warehouse.partition_path("daily_usage", period)
    con.execute(query("warehouse/daily_usage_stored"), {"period": period, "path": str(path)})


def compute_storage_peaks(con: duckdb.DuckDBPyConnection) -> None:
    """Fill month_storage_peaks (each tenant's daily storage peak) from month_daily_usage."""
    con.execute(query("warehouse/storage_peaks"))


def compute_monthly_usage(con: duckdb.DuckDBPyConnection) -> None:
    """Fill month_usage from month_daily_usage."""
    con.execute(query("warehouse/monthly_usage"))


def _totals(rows) -> dict[str, dict[str, Decimal]]:
    totals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for tenant_id, metric, quantity in rows:
        totals[tenant_id][metric] = quantity
    return dict(totals)


def monthly_totals(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Decimal]]:
    """Billable quantity per tenant and metric, from month_usage."""
    return _totals(con.execute(query("warehouse/monthly_totals")).fetchall())


def live_monthly_totals(con: duckdb.DuckDBPyConnection, period: str, tenant_id: str | None = None
                        ) -> dict[str, dict[str, Decimal]]:
    """Month-to-date (or any month) totals straight from the ingested usage, as the close would compute them."""
    days = month_days(period)
    return _totals(con.execute(query("warehouse/live_monthly_totals"), {
        "first_day": days[0], "last_day": days[-1], "tenant_id": tenant_id}).fetchall())


def usage_rows(con: duckdb.DuckDBPyConnection) -> dict[str, list[UsageRow]]:
    """month_usage as rows per tenant, for cost breakdowns."""
    rows: dict[str, list[UsageRow]] = defaultdict(list)
    for tenant_id, *row in con.execute(query("warehouse/monthly_usage_rows")).fetchall():
        rows[tenant_id].append(UsageRow(*row))
    return dict(rows)
