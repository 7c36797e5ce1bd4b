"""The tenant picker: the tenants the caller may see."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from billing.service.app import Service, service
from billing.service.exact_json import ExactJSONRoute
from billing.service.models import TenantSummary
from billing.service.policy import Access, authorize

router = APIRouter(tags=["tenants"], route_class=ExactJSONRoute)


@router.get("/tenants", response_model=list[TenantSummary])
def list_tenants(access: Annotated[Access, Depends(authorize)], svc: Annotated[Service, Depends(service)]):
    today = svc.settings.today()
    if access.tenants is None:
        tenants = svc.ledger.tenants()
    else:
        tenants = [t for t in map(svc.ledger.find_tenant, access.tenants) if t is not None]
    return [TenantSummary(tenant_id=t.tenant_id, name=t.name, country=t.country, plan=t.plan_on(today),
                          role=access.caller.role_in(t.tenant_id)) for t in tenants]
