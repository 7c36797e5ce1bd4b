"""Explain an invoice line: the usage behind it. The daily figures of its metric, the events counted, the
snapshot files and rows they came from (the first ones of each file, with a count), and the tenant's rows of
that month's folders that were quarantined, with their reasons. Reads the warehouse through its views."""
from __future__ import annotations

from dataclasses import asdict

from billing.breakdown import USAGE_OF_LINE
from billing.directory import month_days
from billing.ingest import stage_days
from billing.invoices import Invoice
from billing.settings import Settings
from billing.snapshots import SnapshotRoot
from billing.sql import query
from billing.warehouse import Warehouse

FIRST_ROWS = 20


def _rows(con, name: str, params: dict) -> list[dict]:
    cursor = con.execute(query(f"warehouse/{name}"), params)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def explain_line(settings: Settings, invoice: Invoice, position: int) -> dict:
    line = invoice.lines[position]
    metric = USAGE_OF_LINE.get(line.metric)  # None: a fixed charge (base price, seats) or an adjustment
    days = month_days(invoice.period)
    scope = {"tenant_id": invoice.tenant_id, "first_day": days[0], "last_day": days[-1]}
    con = Warehouse(settings.warehouse_dir).connect()
    daily, sources = [], []
    if metric:
        daily = _rows(con, "explain_daily", {**scope, "metric": metric})
        arrival_days = sorted({day for row in daily for day in row.pop("arrival_days")})
        if arrival_days:
            stage_days(con, SnapshotRoot(settings.snapshot_root, settings.aws_endpoint_url), arrival_days,
                       [invoice.tenant_id])
            sources = _rows(con, "explain_sources", {**scope, "metric": metric, "sample": FIRST_ROWS})
    quarantined = _rows(con, "quarantine_of_tenant", scope)
    return {
        "invoice_id": invoice.invoice_id, "tenant_id": invoice.tenant_id, "period": invoice.period,
        "position": position, "line": asdict(line), "usage_metric": metric,
        "daily": daily, "events": sum(row["events"] for row in daily),
        "sources": sources, "quarantined_count": len(quarantined), "quarantined": quarantined[:FIRST_ROWS * 5],
    }
