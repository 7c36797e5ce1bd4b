"""Plan overview (the price book's tiers, the current plan with its limits and price, its timeline, pending
requests) and plan changes: a tenant admin asks, a platform administrator approves, rejects or changes the plan
directly. A change made here is kept by later directory imports (docs/service.md)."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException

from billing.directory import Tenant, check_payment_method
from billing.service import audit
from billing.service.app import Service, service
from billing.service.exact_json import ExactJSONRoute
from billing.service.models import (Decision, OveragePrice, PlanChange, PlanChangeIn, PlanChangeRequest, PlanOverview,
                                    Tier)
from billing.service.params import RequestId, TenantId
from billing.service.policy import Access, authorize
from billing.settings import BillingError
from billing.sql import query

router = APIRouter(tags=["plan"], route_class=ExactJSONRoute)


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


def checked_change(svc: Service, tenant: Tenant, plan: str, effective: date) -> None:
    """A plan change must start in the open month or later (a closed month's invoice is never rewritten by
    it), enterprise needs the tenant's contract fee, and the payment method must stay within the rules."""
    first_open_day = svc.settings.today().replace(day=1)
    if effective < first_open_day:
        raise BillingError(f"effective {effective} is before {first_open_day}: a plan change starts in the open month or later")
    if plan == "enterprise" and tenant.contract_monthly_fee is None:
        raise BillingError(f"tenant {tenant.tenant_id!r}: enterprise needs a contract_monthly_fee in the tenant directory first")
    check_payment_method(replace(tenant, plan_changes=tuple(sorted({**dict(tenant.plan_changes), effective: plan}.items()))))


def write_change(con, access: Access, tenant: Tenant, plan: str, effective: date, event: str, request_id: str | None = None):
    before = [{"effective": e, "plan": p} for e, p in tenant.plan_changes]
    con.execute(sa.text(query("ledger/plan_change_from_api")),
                {"tenant_id": tenant.tenant_id, "effective": effective.isoformat(), "plan": plan})
    after = sorted({**{e: p for e, p in tenant.plan_changes}, effective: plan}.items())
    audit.record(con, access, event, tenant.tenant_id, {"plan_changes": before},
                 {"plan_changes": [{"effective": e, "plan": p} for e, p in after]}, details=request_id)


@router.put("/tenants/{tenant_id}/plan", response_model=PlanOverview)
def change_plan(tenant_id: TenantId, change: PlanChangeIn, access: Annotated[Access, Depends(authorize)],
                svc: Annotated[Service, Depends(service)]):
    """A platform administrator changes the plan directly, from `effective` (prorated by day)."""
    tenant = svc.tenant(tenant_id)
    checked_change(svc, tenant, change.plan, change.effective)
    with svc.ledger.engine.begin() as con:
        write_change(con, access, tenant, change.plan, change.effective, "plan_changed")
    return plan_overview(tenant_id, svc)


@router.post("/tenants/{tenant_id}/plan-change-requests", response_model=PlanChangeRequest, status_code=201)
def ask_for_plan_change(tenant_id: TenantId, change: PlanChangeIn, access: Annotated[Access, Depends(authorize)],
                        svc: Annotated[Service, Depends(service)]):
    tenant = svc.tenant(tenant_id)
    checked_change(svc, tenant, change.plan, change.effective)
    request_id = f"pcr_{uuid.uuid4().hex[:20]}"
    with svc.ledger.engine.begin() as con:
        con.execute(sa.text(query("ledger/plan_change_request_insert")), {
            "request_id": request_id, "tenant_id": tenant.tenant_id, "plan": change.plan,
            "effective": change.effective.isoformat(), "requested_by": access.caller.subject, "now": _stamp()})
        audit.record(con, access, "plan_change_requested", tenant.tenant_id, None,
                     {"request_id": request_id, "plan": change.plan, "effective": change.effective})
    return request_of(svc, tenant.tenant_id, request_id)


def request_of(svc: Service, tenant_id: str, request_id: str) -> PlanChangeRequest:
    with svc.ledger.engine.connect() as con:
        row = con.execute(sa.text(query("ledger/plan_change_request_get")),
                          {"request_id": request_id, "tenant_id": tenant_id}).first()
    if row is None:
        raise HTTPException(404, f"no plan change request {request_id!r}")
    return PlanChangeRequest.model_validate(dict(row._mapping))


def decide(svc: Service, access: Access, request_id: str, status: str, reason: str | None) -> PlanChangeRequest:
    tenant_id = access.tenant_id  # the request's tenant, found by the policy
    request = request_of(svc, tenant_id, request_id)
    if request.status != "pending":
        raise BillingError(f"plan change request {request_id} is already {request.status}")
    tenant = svc.tenant(tenant_id)
    if status == "approved":
        checked_change(svc, tenant, request.plan, request.effective)
    with svc.ledger.engine.begin() as con:
        decided = con.execute(sa.text(query("ledger/plan_change_request_decide")), {
            "request_id": request_id, "tenant_id": tenant_id, "status": status, "decided_by": access.caller.subject,
            "now": _stamp(), "reason": reason}).rowcount
        if not decided:  # decided by someone else meanwhile
            raise BillingError(f"plan change request {request_id} was decided meanwhile")
        if status == "approved":
            write_change(con, access, tenant, request.plan, request.effective, "plan_change_approved", request_id)
        else:
            audit.record(con, access, "plan_change_rejected", tenant_id, {"request_id": request_id, "status": "pending"},
                         {"request_id": request_id, "status": "rejected", "reason": reason})
    return request_of(svc, tenant_id, request_id)


@router.post("/plan-change-requests/{request_id}/approve", response_model=PlanChangeRequest)
def approve(request_id: RequestId, access: Annotated[Access, Depends(authorize)],
            svc: Annotated[Service, Depends(service)], decision: Decision | None = None):
    return decide(svc, access, request_id, "approved", decision.reason if decision else None)


@router.post("/plan-change-requests/{request_id}/reject", response_model=PlanChangeRequest)
def reject(request_id: RequestId, access: Annotated[Access, Depends(authorize)],
           svc: Annotated[Service, Depends(service)], decision: Decision | None = None):
    return decide(svc, access, request_id, "rejected", decision.reason if decision else None)


def _stamp() -> str:
    """When a request was made or decided: a log time, from the wall clock."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
