"""Usage metering: UsageMetrics of a month (month to date for the open month), daily series for charts and a
month's daily usage as CSV."""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from billing.aggregate import compute_daily_usage
from billing.directory import month_days
from billing.figures import month_usage
from billing.metering import MINUTES_PER_HOUR
from billing.money import round_half_up
from billing.service.app import Service, service
from billing.service.exact_json import ExactJSONRoute
from billing.service.models import DailySeries, DailyUsage, UsageMetrics
from billing.service.params import Month, TenantId
from billing.sql import query

router = APIRouter(tags=["usage"], route_class=ExactJSONRoute)


def open_month(svc: Service, month: str | None) -> str:
    return month or svc.settings.today().strftime("%Y-%m")


@router.get("/tenants/{tenant_id}/usage", response_model=UsageMetrics)
def usage(tenant_id: TenantId, svc: Annotated[Service, Depends(service)], month: Month = None):
    month = open_month(svc, month)
    document = month_usage(svc.reader, svc.tenant(tenant_id), month, svc.price_book)
    return {**document, "last_ingested_at": svc.reader.warehouse.last_replaced("events")}


@router.get("/tenants/{tenant_id}/usage/daily", response_model=DailySeries)
def daily_usage(tenant_id: TenantId, svc: Annotated[Service, Depends(service)], month: Month = None):
    month = open_month(svc, month)
    tenant = svc.tenant(tenant_id)
    with svc.reader.session() as con:
        compute_daily_usage(con, month, tenant.tenant_id)
        rows = {row[0]: row for row in con.execute(query("warehouse/daily_by_category"),
                                                   {"tenant_id": tenant.tenant_id}).fetchall()}
    zero = (None, Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0), 0)
    today = svc.settings.today()
    days = []
    for day in (d for d in month_days(month) if d <= today):  # every day so far, with or without usage
        _, llm_tokens, queries, storage_gb, api_requests, minutes, events = rows.get(day, zero)
        days.append(DailyUsage(day=day, llm_tokens=llm_tokens, queries=queries, storage_gb=storage_gb,
                               api_requests=api_requests, compute_hours=round_half_up(minutes / MINUTES_PER_HOUR),
                               events=events))
    return DailySeries(tenant_id=tenant.tenant_id, period=month,
                       last_ingested_at=svc.reader.warehouse.last_replaced("events"), days=days)


@router.get("/tenants/{tenant_id}/usage/csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the month's daily usage, one row per day, service, metric, workload and user"}})
def usage_csv(tenant_id: TenantId, svc: Annotated[Service, Depends(service)], month: Month = None):
    month = open_month(svc, month)
    tenant = svc.tenant(tenant_id)
    with svc.reader.session() as con:
        compute_daily_usage(con, month, tenant.tenant_id)
        cursor = con.execute(query("warehouse/usage_csv"), {"tenant_id": tenant.tenant_id})
        header, rows = [column[0] for column in cursor.description], cursor.fetchall()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if value is None else _plain(value) for value in row] for row in rows)
    return Response(text.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{tenant.tenant_id}-usage-{month}.csv"'})


def _plain(value) -> str:
    """Quantities as plain decimals (no exponent, no trailing zeros)."""
    return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)
