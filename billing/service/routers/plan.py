"""Plan overview: the price book's tiers, the current plan with its limits and price, its timeline and the
pending plan change requests."""
from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends

from billing.service.app import Service, service
from billing.service.models import OveragePrice, PlanChange, PlanChangeRequest, PlanOverview, Tier
from billing.service.params import TenantId
from billing.sql import query

router = APIRouter(tags=["plan"])


def requests_of(svc: Service, tenant_id: str, status: str | None = None) -> list[PlanChangeRequest]:
    with svc.ledger.engine.connect() as con:
        rows = con.execute(sa.text(query("ledger/plan_change_requests_of_tenant")),
                           {"tenant_id": tenant_id, "status": status})
        return [PlanChangeRequest.model_validate(dict(row._mapping)) for row in rows]


def tiers(svc: Service) -> list[Tier]:
    return [Tier(plan=plan.name, base_price=plan.base_price, included=plan.included,
                 overage={metric: OveragePrice(unit_price=price.unit_price, per=price.per)
                          for metric, price in plan.overage.items()})
            for plan in svc.price_book.plans.values()]


@router.get("/tenants/{tenant_id}/plan", response_model=PlanOverview)
def plan_overview(tenant_id: TenantId, svc: Annotated[Service, Depends(service)]):
    tenant = svc.tenant(tenant_id)
    current = svc.price_book.plan(tenant.plan_on(svc.settings.today()))
    return PlanOverview(
        tenant_id=tenant.tenant_id, plan=current.name,
        price=current.base_price if current.base_price is not None else tenant.contract_monthly_fee,
        limits=current.included,
        plan_changes=[PlanChange(effective=effective, plan=plan) for effective, plan in tenant.plan_changes],
        pending_requests=requests_of(svc, tenant.tenant_id, "pending"), tiers=tiers(svc))
