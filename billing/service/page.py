"""The Billing page at /billing (docs/page.md): server-rendered Jinja2 on the API's own models, through the
same router functions and the same policy table as the API, so the page can show or do nothing the API would
refuse. Forms post back here (CSRF-checked), then redirect; htmx only makes a few of them lighter.

Mounted by app.py as its own small app, so its routes are not API routes (the API's rule check stays exact).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
import stripe
from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from pydantic import ValidationError

from billing.directory import PAYMENT_TYPES, check_payment_method, month_days
from billing.documents import invoice_document
from billing.invoices import Invoice as LedgerInvoice
from billing.service.app import Service
from billing.service.charts import daily_bars, horizontal_bars, number, usd
from billing.service.identity import Caller, directory_roles
from billing.service.models import (BudgetIn, CostBreakdown, Invoice, LineExplanation, PaymentMethodIn, PlanChangeIn,
                                    PlanChangeRequest, SetupIntentIn, UsageMetrics)
from billing.service.page_session import COOKIE, Session, Sessions, csrf_ok
from billing.service.params import (MONTH, BudgetId, Decision, InvoiceId, LinePosition, Month, NotificationId, RequestId,
                                    TenantId)
from billing.service.policy import Access, decide, rule_of, visible_tenants
from billing.service.routers import budgets, costs, invoices, payment_method, plan, tenants, usage
from billing.settings import BillingError
from billing.sql import query

HERE = Path(__file__).parent
log = logging.getLogger("billing.page")
ROOT = "/billing"
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                        lstrip_blocks=True)
templates.filters.update(number=number, usd=usd)

# The five categories of the seed's Usage metering table: (label, UsageMetrics field, unit).
CATEGORIES = (("LLM tokens", "llm_tokens", "tokens"), ("SQL queries", "queries", "queries"),
              ("Data storage", "storage_gb", "GB"), ("API requests", "api_requests", "requests"),
              ("Compute hours", "compute_hours", "hours"))
SHOWN_INVOICES = 500  # of every tenant's invoices on the operators' overview; filters narrow them down
# What a redirect after a form says; by code, so no text of a URL ever reaches the page.
NOTICES = {"budget_added": "Budget added.", "budget_removed": "Budget removed.",
           "requested": "Plan change requested: a platform administrator will decide.",
           "plan_changed": "Plan changed.", "approved": "Request approved: the plan is changed.",
           "rejected": "Request rejected.", "read": "Notification marked as read.",
           "payment_method": "Payment method saved."}


class Refusal(Exception):
    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass(frozen=True)
class Viewer:
    caller: Caller
    session: Session


def _svc(request: Request) -> Service:
    return request.app.state.service


def _sessions(request: Request) -> Sessions:
    return request.app.state.sessions


def current_viewer(request: Request) -> Viewer | None:
    """Behind the authenticating proxy: the bearer JWT it forwards, verified by the API's Verifier, with a
    session bound to its subject for the CSRF token. Else the session of the cookie."""
    svc, sessions = _svc(request), _sessions(request)
    session = sessions.of_cookie(request.cookies.get(COOKIE))
    authorization = request.headers.get("authorization")
    if authorization:
        caller = svc.caller(authorization)
        if session is None or (session.subject, session.platform_admin) != (caller.subject, caller.platform_admin):
            session = sessions.start(caller.subject, caller.platform_admin)
        return Viewer(caller, session)
    if session is None:
        return None
    if session.platform_admin:
        return Viewer(Caller(session.subject, True), session)
    return Viewer(Caller(session.subject, False, directory_roles(svc.ledger, session.subject)), session)


def signed_in(request: Request) -> Viewer:
    viewer = current_viewer(request)
    if viewer is None:
        raise Refusal(401, "Sign in", "Sign in with the one-time link your administrator gives you "
                      "(billing login-link), or through your platform's sign-in.")
    return viewer


def access(viewer: Viewer, method: str, api_path: str, tenant_id: str | None) -> Access:
    """The API's policy decision for the API route doing the same thing."""
    rule = rule_of(method, api_path)
    if rule is None:
        raise RuntimeError(f"the page uses an API route without a rule: {method} {api_path}")
    refusal = decide(viewer.caller, rule, tenant_id)
    if refusal == 404:
        raise Refusal(404, "Not found", "There is no such tenant, or it is not yours.")
    if refusal:
        raise Refusal(403, "No billing access", "Your role gives you no access to this. Ask a tenant administrator.")
    return Access(viewer.caller, rule, tenant_id, (tenant_id,) if tenant_id else visible_tenants(viewer.caller, rule))


def can(viewer: Viewer, method: str, api_path: str, tenant_id: str | None) -> bool:
    return decide(viewer.caller, rule_of(method, api_path), tenant_id) is None


def posted(request: Request, csrf_token: str | None) -> Viewer:
    """The signed-in viewer of a form, refused unless it carries the session's CSRF token."""
    viewer = signed_in(request)
    if not csrf_ok(viewer.session, csrf_token or request.headers.get("x-csrf-token")):
        raise Refusal(403, "Form expired", "This form is out of date or did not come from this page. Reload and try again.")
    return viewer


def render(request: Request, name: str, status_code: int = 200, viewer: Viewer | None = None, **context) -> HTMLResponse:
    html = templates.get_template(name).render(root=ROOT, viewer=viewer, request=request, **context)
    return _with_cookie(HTMLResponse(html, status_code=status_code), viewer, request)


def _with_cookie(response: Response, viewer: Viewer | None, request: Request) -> Response:
    if viewer is not None and viewer.session.cookie:
        response.set_cookie(COOKIE, viewer.session.cookie, max_age=_sessions(request).minutes * 60, path=ROOT,
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


def back(request: Request, viewer: Viewer, tenant_id: str | None, done: str, anchor: str = "") -> Response:
    """Post/redirect/get: back to the tenant's page (or the overview) with a notice."""
    target = f"{ROOT}/t/{quote(tenant_id)}" if tenant_id else f"{ROOT}/"
    return _with_cookie(RedirectResponse(f"{target}?done={done}{anchor}", status_code=303), viewer, request)


def level(percentage: float | None) -> str:
    """The seed's alert levels: amber from 80 %, red from 95 % and over the limit."""
    if percentage is None:
        return "unlimited"
    return "over" if percentage >= 100 else "critical" if percentage >= 95 else "warning" if percentage >= 80 else "ok"


def pdf_link(invoice: LedgerInvoice) -> str | None:
    return f"{ROOT}/t/{quote(invoice.tenant_id)}/invoices/{quote(invoice.invoice_id)}/pdf" if invoice.pdf_key else None


def page_invoice(invoice: LedgerInvoice) -> Invoice:
    return Invoice.model_validate(invoice_document(invoice, pdf_link(invoice)))


def pending_requests(svc: Service) -> list[PlanChangeRequest]:
    """Every tenant's pending plan change requests, for platform administrators' overview."""
    with svc.ledger.engine.connect() as con:
        return [PlanChangeRequest.model_validate(dict(row._mapping))
                for row in con.execute(sa.text(query("ledger/page_pending_requests")))]


def payment_methods_allowed(tenant) -> list[str]:
    """The payment methods section 2's rules allow the tenant, by the API's own check (ACH for US tenants only,
    invoice and wire for Enterprise only): the page offers no other."""
    allowed = []
    for kind in PAYMENT_TYPES:
        try:
            check_payment_method(replace(tenant, payment_method_type=kind))
        except BillingError:
            continue
        allowed.append(kind)
    return allowed


def stripe_js() -> dict | None:
    """Stripe.js from the configured Stripe address (the only script fetched at run time); None without a key."""
    key = os.environ.get("STRIPE_PUBLISHABLE_KEY")
    if not key:
        return None
    return {"url": os.environ.get("STRIPE_JS_URL") or "https://js.stripe.com/v3/", "publishable_key": key}


# -- the app -------------------------------------------------------------------------------------------------
def create_page(service: Service) -> FastAPI:
    page = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    page.state.service = service
    page.state.sessions = Sessions(service.ledger, service.settings)
    page.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _routes(page)

    @page.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        stripe_url = urlsplit((stripe_js() or {}).get("url", ""))
        scripts = "'self'" + (f" {stripe_url.scheme}://{stripe_url.netloc}" if stripe_url.netloc else "")
        response.headers.setdefault("Content-Security-Policy", f"default-src 'self'; script-src {scripts}; "
                                    f"frame-src {scripts}; connect-src {scripts}; img-src 'self' data:; "
                                    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @page.exception_handler(Refusal)
    async def refused(request: Request, error: Refusal):
        return render(request, "message.html", error.status, viewer=None, title=error.title, message=error.message,
                      sign_in=error.status == 401)

    @page.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        titles = {401: "Sign in", 404: "Not found", 422: "Not done"}
        message = "There is no such page, or it is not yours." if error.status_code == 404 else str(error.detail)
        return render(request, "message.html", error.status_code, title=titles.get(error.status_code, "Error"),
                      message=message, sign_in=error.status_code == 401)

    @page.exception_handler(BillingError)
    async def rule_broken(request: Request, error: BillingError):
        return render(request, "message.html", 422, title="Not done", message=str(error))

    @page.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, error: RequestValidationError):
        in_address = [e["loc"][-1] for e in error.errors() if e.get("loc", ("",))[0] == "path"]
        if in_address:  # a malformed id names nothing: no such page, whatever else the request holds
            return render(request, "message.html", 404, title="Not found",
                          message=f"There is no such page: the {in_address[0]} in its address is malformed.")
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body"))
        return render(request, "message.html", 422, title="Not done", message=f"{where}: {first.get('msg', 'invalid')}")

    @page.exception_handler(ValidationError)
    async def invalid(request: Request, error: ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return render(request, "message.html", 422, title="Not done", message=f"{where}: {first.get('msg', 'invalid')}")

    @page.exception_handler(Exception)
    async def internal(request: Request, error: Exception):
        log.exception("internal error on the Billing page")
        return render(request, "message.html", 500, title="Something went wrong",
                      message="The page could not be shown. Try again; if it persists, tell your platform team.")

    @page.exception_handler(stripe.StripeError)
    async def stripe_failed(request: Request, error: stripe.StripeError):
        return render(request, "message.html", 422, title="Not done", message=f"Stripe: {error.user_message or error}")

    return page


def _routes(page: FastAPI) -> None:
    @page.get("/login")
    def login(request: Request, token: str = ""):
        session = _sessions(request).spend_link(token) if token else None
        if session is None:
            raise Refusal(401, "Sign in", "This sign-in link is unknown, already used or expired. Ask for a new one.")
        viewer = Viewer(Caller(session.subject, session.platform_admin), session)
        return _with_cookie(RedirectResponse(f"{ROOT}/", status_code=303), viewer, request)

    @page.post("/logout")
    def logout(request: Request, csrf_token: Annotated[str | None, Form()] = None):
        posted(request, csrf_token)
        _sessions(request).end(request.cookies.get(COOKIE))
        response = render(request, "message.html", title="Signed out", message="You are signed out.", sign_in=False)
        response.delete_cookie(COOKIE, path=ROOT)
        return response

    @page.get("/pick")
    def pick(request: Request, tenant: Annotated[str, Query(max_length=128)] = ""):
        """The tenant picker's answer: that tenant's page (which checks access like every page)."""
        viewer = signed_in(request)
        return _with_cookie(RedirectResponse(f"{ROOT}/t/{quote(tenant.strip(), safe='')}", 303), viewer, request)

    @page.get("/")
    def home(request: Request, done: str | None = None,
             month: Annotated[str, Query(pattern=f"{MONTH}|^$")] = "",  # the filter form sends "" for any
             status: Annotated[Literal["paid", "pending", "overdue", ""], Query()] = ""):
        viewer = signed_in(request)
        svc = _svc(request)
        listing = access(viewer, "GET", "/tenants", None)
        visible = tenants.list_tenants(listing, svc)
        if not viewer.caller.platform_admin:
            if len(visible) == 1:
                return _with_cookie(RedirectResponse(f"{ROOT}/t/{quote(visible[0].tenant_id)}", 303), viewer, request)
            if not visible:
                raise Refusal(403, "No billing access", "Your role gives you no access to billing. Ask a tenant administrator.")
        overview = access(viewer, "GET", "/invoices", None)
        scopes = [None] if overview.tenants is None else list(overview.tenants)
        all_invoices = [page_invoice(i) for scope in scopes for i in svc.book.overview(month or None, status or None, scope)]
        pending = pending_requests(svc) if viewer.caller.platform_admin else []
        return render(request, "home.html", viewer=viewer, tenants=visible, invoices=all_invoices[:SHOWN_INVOICES],
                      more_invoices=max(len(all_invoices) - SHOWN_INVOICES, 0), pending=pending, month=month,
                      status=status, notice=NOTICES.get(done or ""))

    @page.get("/t/{tenant_id}")
    def tenant_page(request: Request, tenant_id: TenantId, done: str | None = None, month: Month = None):
        viewer = signed_in(request)
        svc = _svc(request)
        access(viewer, "GET", "/tenants/{tenant_id}/usage", tenant_id)
        month = usage.open_month(svc, month)
        overview = plan.plan_overview(tenant_id, svc)
        used = UsageMetrics.model_validate(usage.usage(tenant_id, svc, month))
        daily = usage.daily_usage(tenant_id, svc, month)
        access(viewer, "GET", "/tenants/{tenant_id}/costs", tenant_id)
        breakdown = CostBreakdown.model_validate(costs.costs(tenant_id, svc, month))
        access(viewer, "GET", "/tenants/{tenant_id}/invoices", tenant_id)
        history = [page_invoice(i) for i in svc.book.of_tenant(tenant_id)]
        access(viewer, "GET", "/tenants/{tenant_id}/payment-method", tenant_id)
        method = payment_method.payment_method(tenant_id, svc)
        alerts = access(viewer, "GET", "/tenants/{tenant_id}/budgets", tenant_id)
        budget_list = budgets.list_budgets(tenant_id, svc)
        notifications = budgets.notifications(tenant_id, alerts, svc)
        meters = [{"label": label, "field": field, "unit": unit, "metric": getattr(used, field),
                   "level": level(getattr(used, field).percentage),
                   "chart": daily_bars(f"{label} per day, {month}",
                                       [(d.day.isoformat(), getattr(d, field)) for d in daily.days])}
                  for label, field, unit in CATEGORIES]
        services = breakdown.by_service
        by_service = [("AI service: LLM", services.ai_service.llm_cost), ("AI service: compute", services.ai_service.compute_cost),
                      ("Query engine: queries", services.query_engine.query_cost),
                      ("Query engine: storage", services.query_engine.storage_cost),
                      ("ML service: training", services.ml_service.training_cost),
                      ("ML service: serving", services.ml_service.serving_cost)]
        tenant = svc.tenant(tenant_id)
        return render(
            request, "tenant.html", viewer=viewer, tenant=tenant, month=month, this_month=svc.settings.today().strftime("%Y-%m"),
            today=svc.settings.today(), overview=overview, usage=used, meters=meters, breakdown=breakdown,
            by_service=by_service, service_chart=horizontal_bars(f"Cost by service, {month}", by_service),
            user_chart=horizontal_bars(f"Cost by user, {month}", [(u.name, u.cost_usd) for u in breakdown.by_user]),
            invoices=history, method=method, budgets=budget_list, notifications=notifications,
            change_plan=can(viewer, "PUT", "/tenants/{tenant_id}/plan", tenant_id),
            request_change=can(viewer, "POST", "/tenants/{tenant_id}/plan-change-requests", tenant_id),
            payment_methods=payment_methods_allowed(tenant), stripe=stripe_js(), seller=svc.settings.seller.name,
            notice=NOTICES.get(done or ""))

    @page.get("/t/{tenant_id}/invoices/{invoice_id}")
    def invoice_page(request: Request, tenant_id: TenantId, invoice_id: InvoiceId):
        viewer = signed_in(request)
        svc = _svc(request)
        access(viewer, "GET", "/tenants/{tenant_id}/invoices/{invoice_id}", tenant_id)
        found = page_invoice(invoices.invoice_of(svc, tenant_id, invoice_id))
        return render(request, "invoice.html", viewer=viewer, tenant=svc.tenant(tenant_id), invoice=found)

    @page.get("/t/{tenant_id}/invoices/{invoice_id}/pdf")
    def invoice_pdf(request: Request, tenant_id: TenantId, invoice_id: InvoiceId):
        viewer = signed_in(request)
        access(viewer, "GET", "/tenants/{tenant_id}/invoices/{invoice_id}/pdf", tenant_id)
        return invoices.invoice_pdf(tenant_id, invoice_id, _svc(request))

    @page.get("/t/{tenant_id}/invoices/{invoice_id}/lines/{position}")
    def explain_page(request: Request, tenant_id: TenantId, invoice_id: InvoiceId, position: LinePosition):
        """The usage behind an invoice line, down to its snapshot files and rows (the API's explain)."""
        viewer = signed_in(request)
        svc = _svc(request)
        access(viewer, "GET", "/tenants/{tenant_id}/invoices/{invoice_id}/lines/{position}/explain", tenant_id)
        explained = LineExplanation.model_validate(invoices.explain(tenant_id, invoice_id, position, svc))
        found = page_invoice(invoices.invoice_of(svc, tenant_id, invoice_id))
        by_day = {d.usage_day: d.quantity for d in explained.daily}
        chart = daily_bars(f"{explained.line.description} per day", width=640, points=[
            (day.isoformat(), by_day.get(day, Decimal(0))) for day in month_days(explained.period)])
        return render(request, "explain.html", viewer=viewer, tenant=svc.tenant(tenant_id), invoice=found,
                      explained=explained, chart=chart)

    @page.get("/t/{tenant_id}/invoice-pdfs")
    def invoice_pdfs(request: Request, tenant_id: TenantId, start: Annotated[str, Query(alias="from", pattern=MONTH)],
                     end: Annotated[str, Query(alias="to", pattern=MONTH)]):
        viewer = signed_in(request)
        access(viewer, "GET", "/tenants/{tenant_id}/invoice-pdfs", tenant_id)
        return invoices.invoice_pdfs(tenant_id, _svc(request), start, end)

    @page.get("/t/{tenant_id}/usage.csv")
    def usage_csv(request: Request, tenant_id: TenantId, month: Month = None):
        viewer = signed_in(request)
        access(viewer, "GET", "/tenants/{tenant_id}/usage/csv", tenant_id)
        return usage.usage_csv(tenant_id, _svc(request), month)

    # -- changes: each through the API's own function, with the API's own input model ----------------------
    @page.post("/t/{tenant_id}/plan")
    def change_plan(request: Request, tenant_id: TenantId, plan_name: Annotated[str, Form(alias="plan")],
                    effective: Annotated[str, Form()], csrf_token: Annotated[str | None, Form()] = None):
        viewer = posted(request, csrf_token)
        granted = access(viewer, "PUT", "/tenants/{tenant_id}/plan", tenant_id)
        plan.change_plan(tenant_id, PlanChangeIn.model_validate({"plan": plan_name, "effective": effective}),
                         granted, _svc(request))
        return back(request, viewer, tenant_id, "plan_changed", "#plan")

    @page.post("/t/{tenant_id}/plan-change-requests")
    def request_change(request: Request, tenant_id: TenantId, plan_name: Annotated[str, Form(alias="plan")],
                       effective: Annotated[str, Form()], csrf_token: Annotated[str | None, Form()] = None):
        viewer = posted(request, csrf_token)
        granted = access(viewer, "POST", "/tenants/{tenant_id}/plan-change-requests", tenant_id)
        plan.ask_for_plan_change(tenant_id, PlanChangeIn.model_validate({"plan": plan_name, "effective": effective}),
                                 granted, _svc(request))
        return back(request, viewer, tenant_id, "requested", "#plan")

    @page.post("/requests/{request_id}/{decision}")
    def decide_request(request: Request, request_id: RequestId, decision: Decision,
                       csrf_token: Annotated[str | None, Form()] = None):
        viewer = posted(request, csrf_token)
        svc = _svc(request)
        tenant_id = svc.tenant_of_request(request_id)
        if tenant_id is None:
            raise Refusal(404, "Not found", "There is no such plan change request, or it is not yours.")
        granted = access(viewer, "POST", f"/plan-change-requests/{{request_id}}/{decision}", tenant_id)
        plan.decide(svc, granted, request_id, "approved" if decision == "approve" else "rejected", None)
        return back(request, viewer, None, "approved" if decision == "approve" else "rejected")

    @page.post("/t/{tenant_id}/budgets")
    def add_budget(request: Request, tenant_id: TenantId, amount_usd: Annotated[str, Form()],
                   channels: Annotated[list[str], Form()] = [], csrf_token: Annotated[str | None, Form()] = None):  # noqa: B006
        viewer = posted(request, csrf_token)
        granted = access(viewer, "POST", "/tenants/{tenant_id}/budgets", tenant_id)
        budgets.add_budget(tenant_id, BudgetIn.model_validate({"amount_usd": amount_usd, "channels": channels}),
                           granted, _svc(request))
        return back(request, viewer, tenant_id, "budget_added", "#alerts")

    @page.post("/t/{tenant_id}/budgets/{budget_id}/delete")
    def remove_budget(request: Request, tenant_id: TenantId, budget_id: BudgetId, csrf_token: Annotated[str | None, Form()] = None):
        viewer = posted(request, csrf_token)
        granted = access(viewer, "DELETE", "/tenants/{tenant_id}/budgets/{budget_id}", tenant_id)
        budgets.remove_budget(tenant_id, budget_id, granted, _svc(request))
        return back(request, viewer, tenant_id, "budget_removed", "#alerts")

    @page.post("/t/{tenant_id}/notifications/{notification_id}/read")
    def mark_read(request: Request, tenant_id: TenantId, notification_id: NotificationId, csrf_token: Annotated[str | None, Form()] = None):
        viewer = posted(request, csrf_token)
        granted = access(viewer, "POST", "/tenants/{tenant_id}/notifications/{notification_id}/read", tenant_id)
        budgets.mark_read(tenant_id, notification_id, granted, _svc(request))
        return back(request, viewer, tenant_id, "read", "#alerts")

    @page.post("/t/{tenant_id}/payment-method/setup-intent")
    def setup_intent(request: Request, tenant_id: TenantId, kind: Annotated[str, Form(alias="type")] = "card",
                     csrf_token: Annotated[str | None, Form()] = None):
        """For Stripe.js in the page: the SetupIntent's client secret (JSON)."""
        viewer = posted(request, csrf_token)
        access(viewer, "POST", "/tenants/{tenant_id}/payment-method/setup-intent", tenant_id)
        intent = payment_method.setup_intent(tenant_id, SetupIntentIn.model_validate({"type": kind}), _svc(request))
        return JSONResponse({"client_secret": intent.client_secret})

    @page.post("/t/{tenant_id}/payment-method")
    def set_payment_method(request: Request, tenant_id: TenantId, kind: Annotated[str, Form(alias="type")],
                           stripe_payment_method: Annotated[str | None, Form()] = None,
                           csrf_token: Annotated[str | None, Form()] = None):
        viewer = posted(request, csrf_token)
        granted = access(viewer, "PUT", "/tenants/{tenant_id}/payment-method", tenant_id)
        chosen = PaymentMethodIn.model_validate({"type": kind, "stripe_payment_method": stripe_payment_method or None})
        payment_method.set_payment_method(tenant_id, chosen, granted, _svc(request))
        return back(request, viewer, tenant_id, "payment_method", "#payment")

