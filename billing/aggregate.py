"""Monthly aggregation in DuckDB: daily usage, daily storage peaks and monthly usage of a period."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import duckdb

from billing.breakdown import UsageRow
from billing.directory import month_days
from billing.sql import query
from billing.warehouse import Warehouse


def _daily_usage(con: duckdb.DuckDBPyConnection, period: str, tenant_id: str | None = None) -> duckdb.DuckDBPyRelation:
    days = month_days(period)
    return con.sql(query("warehouse/daily_usage"), params={
        "first_day": days[0], "last_day": days[-1], "tenant_id": tenant_id,
    })


def compute_daily_usage(con: duckdb.DuckDBPyConnection, period: str, tenant_id: str | None = None) -> None:
    """Fill the temp table month_daily_usage with the month's daily usage, of one tenant or of all."""
    _daily_usage(con, period, tenant_id).to_view("daily_usage_rows")
    con.execute(query("warehouse/daily_usage_table"), {"period": period})


def write_daily_usage(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, period: str) -> None:
    """Write the month's daily usage as its daily_usage partition, straight from the query, then read
    month_daily_usage from it."""
    warehouse.write_partition(con, "daily_usage", period, {"rows": _daily_usage(con, period)})
    read_daily_usage(con, warehouse, period)


def read_daily_usage(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, period: str) -> None:
    """month_daily_usage as a view of the month's stored daily_usage partition."""
    path = warehouse.partition_file("daily_usage", period)
    con.sql(query("warehouse/daily_usage_stored"), params={"period": period, "path": str(path)}).to_view("month_daily_usage")


def read_monthly_usage(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, period: str) -> None:
    """month_usage from the month's stored monthly_usage partition."""
    con.execute(query("warehouse/monthly_usage_stored"), {"path": str(warehouse.partition_file("monthly_usage", period))})


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
