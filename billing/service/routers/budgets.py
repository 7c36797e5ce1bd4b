"""Budget alerts (list, add, remove) and in-app notifications (list, mark read).

A budget's id is its position in the tenant's list, stable until a directory import states the tenant's
budgets again (the directory is the source of truth for what it lists)."""
from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response

from billing.service import audit
from billing.service.app import Service, service
from billing.service.exact_json import ExactJSONRoute
from billing.service.models import Budget, BudgetIn, Notification
from billing.service.params import BudgetId, NotificationId, TenantId
from billing.service.policy import Access, authorize
from billing.sql import query

router = APIRouter(tags=["budgets"], route_class=ExactJSONRoute)


def budgets_of(con, tenant_id: str) -> list[Budget]:
    return [Budget(budget_id=row.position, amount_usd=row.amount_usd, channels=row.channels.split(","))
            for row in con.execute(sa.text(query("ledger/budgets_of_tenant")), {"tenant_id": tenant_id})]


@router.get("/tenants/{tenant_id}/budgets", response_model=list[Budget])
def list_budgets(tenant_id: TenantId, svc: Annotated[Service, Depends(service)]):
    svc.tenant(tenant_id)
    with svc.ledger.engine.connect() as con:
        return budgets_of(con, tenant_id)


@router.post("/tenants/{tenant_id}/budgets", response_model=Budget, status_code=201)
def add_budget(tenant_id: TenantId, budget: BudgetIn, access: Annotated[Access, Depends(authorize)],
               svc: Annotated[Service, Depends(service)]):
    svc.tenant(tenant_id)
    channels = list(dict.fromkeys(budget.channels))
    with svc.ledger.engine.begin() as con:
        position = con.execute(sa.text(query("ledger/budget_next_position")), {"tenant_id": tenant_id}).scalar_one()
        con.execute(sa.text(query("ledger/budget_insert")), {"tenant_id": tenant_id, "position": position,
                                                              "amount_usd": str(budget.amount_usd),
                                                              "channels": ",".join(channels)})
        added = Budget(budget_id=position, amount_usd=budget.amount_usd, channels=channels)
        audit.record(con, access, "budget_added", tenant_id, None, added.model_dump())
    return added


@router.delete("/tenants/{tenant_id}/budgets/{budget_id}", status_code=204, response_class=Response)
def remove_budget(tenant_id: TenantId, budget_id: BudgetId, access: Annotated[Access, Depends(authorize)],
                  svc: Annotated[Service, Depends(service)]):
    svc.tenant(tenant_id)
    with svc.ledger.engine.begin() as con:
        found = next((b for b in budgets_of(con, tenant_id) if b.budget_id == budget_id), None)
        if found is None:
            raise HTTPException(404, f"no budget {budget_id} in tenant {tenant_id!r}")
        con.execute(sa.text(query("ledger/budget_delete_one")), {"tenant_id": tenant_id, "position": budget_id})
        audit.record(con, access, "budget_removed", tenant_id, found.model_dump(), None)
    return Response(status_code=204)


def _own(access: Access) -> str | None:
    """A tenant user sees the notifications addressed to them; a platform administrator, every one."""
    return None if access.caller.platform_admin else access.caller.subject


@router.get("/tenants/{tenant_id}/notifications", response_model=list[Notification])
def notifications(tenant_id: TenantId, access: Annotated[Access, Depends(authorize)],
                  svc: Annotated[Service, Depends(service)]):
    svc.tenant(tenant_id)
    with svc.ledger.engine.connect() as con:
        rows = con.execute(sa.text(query("ledger/notifications_of_user")), {"tenant_id": tenant_id, "user_id": _own(access)})
        return [Notification.model_validate(dict(row._mapping)) for row in rows]


@router.post("/tenants/{tenant_id}/notifications/{notification_id}/read", response_model=Notification)
def mark_read(tenant_id: TenantId, notification_id: NotificationId,
              access: Annotated[Access, Depends(authorize)], svc: Annotated[Service, Depends(service)]):
    found = next((n for n in notifications(tenant_id, access, svc) if n.notification_id == notification_id), None)
    if found is None:
        raise HTTPException(404, f"no notification {notification_id!r} for you in tenant {tenant_id!r}")
    with svc.ledger.engine.begin() as con:
        con.execute(sa.text(query("ledger/notification_read_of_tenant")), {
            "notification_id": notification_id, "tenant_id": tenant_id,
            "now": svc.settings.now().isoformat(timespec="seconds")})
    return next(n for n in notifications(tenant_id, access, svc) if n.notification_id == notification_id)
