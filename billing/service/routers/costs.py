"""Cost breakdown: the seed's CostBreakdown of a month (an estimate before the month is invoiced)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from billing.figures import month_breakdown
from billing.service.app import Service, service
from billing.service.exact_json import ExactJSONRoute
from billing.service.models import CostBreakdown
from billing.service.params import Month, TenantId
from billing.service.routers.usage import open_month

router = APIRouter(tags=["costs"], route_class=ExactJSONRoute)


@router.get("/tenants/{tenant_id}/costs", response_model=CostBreakdown)
def costs(tenant_id: TenantId, svc: Annotated[Service, Depends(service)], month: Month = None):
    month = open_month(svc, month)
    tenant = svc.tenant(tenant_id)
    invoice = svc.book.of_tenant_period(tenant.tenant_id, month)
    return month_breakdown(svc.reader, tenant, month, invoice, svc.price_book)
