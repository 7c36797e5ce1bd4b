"""Who may do what: the seed's permissions table, and the action of every route. Enforced in one place,
`authorize`, a dependency of every API router.

Contract section 6: 401 without a verified token; 404 for a tenant (or its invoice, request ...) the caller
may not see, never 403, so nothing leaks about other tenants; 403 for an action the caller's role may not
take in its own tenant. Members (`role: member`) have no billing access: 403 in their own tenant.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from billing.service.identity import Caller

# The seed's Permissions table, word for word (tests/test_service_policy.py compares it cell for cell).
COLUMNS = ("platform_admin", "tenant_admin", "billing_contact")
PERMISSIONS: dict[str, tuple[str, str, str]] = {
    "View usage": ("Yes", "Own tenant", "Own tenant"),
    "View invoices": ("All", "Own tenant", "Own tenant"),
    "Update plan": ("Yes", "Request", "No"),
    "Manage payment": ("Yes", "Yes", "Yes"),
    "Set budget alerts": ("Yes", "Yes", "Yes"),
}
# Beyond the seed: operators' work, for platform administrators only.
OPERATOR_PERMISSIONS: dict[str, tuple[str, str, str]] = {
    "Record payments": ("Yes", "No", "No"),
    "Read audit log": ("Yes", "No", "No"),
}
POLICY = {**PERMISSIONS, **OPERATOR_PERMISSIONS}

# A tenant role's grant is always within its own tenants; a platform administrator's covers every tenant.
GRANTS = frozenset({"Yes", "All", "Own tenant"})
ASK = GRANTS | {"Request"}  # asking for a plan change: "Request" is enough


@dataclass(frozen=True)
class Rule:
    action: str
    grants: frozenset[str] = GRANTS


API = "/api/v1"
# Every route of the API (its path under /api/v1) and the action it is; a route missing here stops the
# service from starting (app.py).
ROUTES: dict[tuple[str, str], Rule] = {
    ("GET", "/tenants"): Rule("View usage"),
    ("GET", "/tenants/{tenant_id}/plan"): Rule("View usage"),
    ("GET", "/tenants/{tenant_id}/usage"): Rule("View usage"),
    ("GET", "/tenants/{tenant_id}/usage/daily"): Rule("View usage"),
    ("GET", "/tenants/{tenant_id}/costs"): Rule("View invoices"),
    ("GET", "/tenants/{tenant_id}/invoices"): Rule("View invoices"),
    ("GET", "/tenants/{tenant_id}/invoices/{invoice_id}"): Rule("View invoices"),
    ("GET", "/tenants/{tenant_id}/invoices/{invoice_id}/pdf"): Rule("View invoices"),
    ("GET", "/tenants/{tenant_id}/invoices/{invoice_id}/lines/{position}/explain"): Rule("View invoices"),
    ("GET", "/tenants/{tenant_id}/invoice-pdfs"): Rule("View invoices"),
    ("GET", "/tenants/{tenant_id}/usage/csv"): Rule("View usage"),
    ("PUT", "/tenants/{tenant_id}/plan"): Rule("Update plan"),
    ("POST", "/tenants/{tenant_id}/plan-change-requests"): Rule("Update plan", ASK),
    ("POST", "/plan-change-requests/{request_id}/approve"): Rule("Update plan"),
    ("POST", "/plan-change-requests/{request_id}/reject"): Rule("Update plan"),
    ("GET", "/tenants/{tenant_id}/payment-method"): Rule("Manage payment"),
    ("PUT", "/tenants/{tenant_id}/payment-method"): Rule("Manage payment"),
    ("POST", "/tenants/{tenant_id}/payment-method/setup-intent"): Rule("Manage payment"),
    ("GET", "/tenants/{tenant_id}/budgets"): Rule("Set budget alerts"),
    ("POST", "/tenants/{tenant_id}/budgets"): Rule("Set budget alerts"),
    ("DELETE", "/tenants/{tenant_id}/budgets/{budget_id}"): Rule("Set budget alerts"),
    ("GET", "/tenants/{tenant_id}/notifications"): Rule("Set budget alerts"),
    ("POST", "/tenants/{tenant_id}/notifications/{notification_id}/read"): Rule("Set budget alerts"),
    ("GET", "/invoices"): Rule("View invoices"),
    ("POST", "/tenants/{tenant_id}/invoices/{invoice_id}/mark-paid"): Rule("Record payments"),
    ("GET", "/tenants/{tenant_id}/audit"): Rule("Read audit log"),
}


def rule_of(method: str, path: str) -> Rule | None:
    return ROUTES.get((method, path))


def methods_of(path: str) -> list[str]:
    """The methods a concrete path under /api/v1 answers (for the Allow header of a 405)."""
    return sorted({method for method, template in ROUTES
                   if re.fullmatch(re.sub(r"\\{[a-z_]+\\}", "[^/]+", re.escape(template)), path)})


def grade(caller: Caller, action: str, tenant_id: str | None) -> str:
    """The policy cell for the caller in a tenant ("No" for members and for tenants not theirs)."""
    role = caller.role_in(tenant_id)
    if role not in COLUMNS:
        return "No"
    return POLICY[action][COLUMNS.index(role)]


def visible_tenants(caller: Caller, rule: Rule) -> tuple[str, ...] | None:
    """For a route of no one tenant: the tenants whose data the caller may read through it; None for all."""
    if caller.platform_admin:
        return None if grade(caller, rule.action, None) in rule.grants else ()
    return tuple(t for t in caller.roles if grade(caller, rule.action, t) in rule.grants)


def decide(caller: Caller, rule: Rule, tenant_id: str | None) -> int | None:
    """None when allowed; else the status code that refuses."""
    if tenant_id is None:
        return None if visible_tenants(caller, rule) != () else 403
    if not caller.platform_admin and tenant_id not in caller.roles:
        return 404
    return None if grade(caller, rule.action, tenant_id) in rule.grants else 403


@dataclass(frozen=True)
class Access:
    caller: Caller
    rule: Rule
    tenant_id: str | None  # the tenant of the route (or of its plan change request)
    tenants: tuple[str, ...] | None  # what the route may read: that tenant; for a route of no one tenant the
    # caller's tenants, None for every tenant


async def authorize(request: Request) -> Access:
    """The one place permissions are enforced: which tenant (404) and which action (403). Who (401) was
    checked at the door, before the request was read (app.py). Async, so that FastAPI runs it on the event
    loop rather than in a thread of its own: only a plan change request's tenant is read from the ledger."""
    service = request.app.state.service
    rule = rule_of(request.method, request.scope["route"].path)
    if rule is None:  # app.py refuses to start without a rule for every route; this is the second lock
        raise HTTPException(403, "this route has no permission rule")
    caller = request.state.caller
    tenant_id = request.path_params.get("tenant_id")
    not_found = f"no tenant {tenant_id!r}"
    if tenant_id is None and "request_id" in request.path_params:
        tenant_id = await run_in_threadpool(service.tenant_of_request, request.path_params["request_id"])
        not_found = f"no plan change request {request.path_params['request_id']!r}"  # never whose it is
        if tenant_id is None:
            raise HTTPException(404, not_found)
    refusal = decide(caller, rule, tenant_id)
    if refusal == 404:
        raise HTTPException(404, not_found)
    if refusal:
        raise HTTPException(refusal, f"{caller.role_in(tenant_id) or 'no billing role'} may not {rule.action.lower()}"
                            + (f" in tenant {tenant_id!r}" if tenant_id else ""))
    scope = visible_tenants(caller, rule) if tenant_id is None else (tenant_id,)
    return Access(caller, rule, tenant_id, scope)
