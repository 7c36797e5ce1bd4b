"""The Billing Service: the Billing page's back end (contract section 6). `create_app` is the app factory
(`billing serve`, or `uvicorn --factory billing.service.app:create_app`).

It reads the same ledger, warehouse and object store as the close, through the same settings, and never
takes the warehouse's write lock: usage is read through DuckDB views over the Parquet partitions, by a
WarehouseReader that each worker process keeps (billing/warehouse_reader.py).
Errors are application/problem+json with a one-line `detail`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa
import stripe
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from billing.directory import Tenant
from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing.object_store import open_object_store
from billing.price_book import PriceBook, load_price_book
from billing.settings import BillingError, Settings
from billing.sql import query
from billing.service.identity import Caller, IdentityConfig, IdentityUnavailable, Unauthenticated, Verifier
from billing.service.models import Problem
from billing.service.policy import API, authorize, methods_of, rule_of
from billing.warehouse_reader import WarehouseReader

PROBLEM = "application/problem+json"
log = logging.getLogger("billing.service")


@dataclass
class Service:
    """What every request reads: settings, ledger, warehouse, price book, identity. One per process."""
    settings: Settings
    ledger: Ledger
    book: InvoiceBook
    reader: WarehouseReader
    price_book: PriceBook
    verifier: Verifier

    def caller(self, authorization: str | None) -> Caller:
        try:
            return self.verifier.caller(authorization, self.ledger)
        except Unauthenticated as error:
            raise HTTPException(401, str(error), headers={"WWW-Authenticate": "Bearer"}) from None
        except IdentityUnavailable as error:
            raise HTTPException(503, str(error)) from None

    def tenant(self, tenant_id: str) -> Tenant:
        tenant = self.ledger.find_tenant(tenant_id)
        if tenant is None:
            raise HTTPException(404, f"no tenant {tenant_id!r}")
        return tenant

    def tenant_of_request(self, request_id: str) -> str | None:
        with self.ledger.engine.connect() as con:
            return con.execute(sa.text(query("ledger/plan_change_request_tenant")), {"request_id": request_id}).scalar()

    @cached_property
    def object_store(self):
        """One per process: an S3 client is slow to make (and safe to share between threads)."""
        settings = self.settings
        return open_object_store(settings.object_store, settings.aws_endpoint_url, settings.presign_seconds)


async def service(request: Request) -> Service:  # async: FastAPI would run a plain function in a thread
    return request.app.state.service


def _problem(status: int, detail: str, headers: dict | None = None) -> JSONResponse:
    title = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
             422: "Unprocessable Content", 503: "Service Unavailable"}.get(status, "Error")
    line = " ".join(str(detail).split()) or title  # one line, always
    return JSONResponse(Problem(title=title, status=status, detail=line).model_dump(), status_code=status,
                        media_type=PROBLEM, headers=headers)


def _validation_detail(error: RequestValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "request"
    return f"{where}: {first.get('msg', 'invalid')}"


def _install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, error: StarletteHTTPException):
        headers = getattr(error, "headers", None)
        if error.status_code == 405:  # every method of the path, not only those of the route matched first
            headers = {**(headers or {}), "Allow": ", ".join(methods_of(request.url.path.removeprefix(API)))}
        return _problem(error.status_code, error.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_problem(_request, error: RequestValidationError):
        return _problem(422, _validation_detail(error))

    @app.exception_handler(BillingError)
    async def rule_problem(_request, error: BillingError):
        return _problem(422, str(error))

    @app.exception_handler(stripe.StripeError)
    async def stripe_problem(_request, error: stripe.StripeError):
        return _problem(422, f"Stripe: {error.user_message or error}")

    @app.exception_handler(Exception)
    async def internal_problem(_request, error: Exception):
        log.exception("internal error")
        return _problem(500, f"internal error: {type(error).__name__}")


OPEN_PATHS = frozenset({f"{API}/openapi.json", f"{API}/docs"})


def _install_authentication(app: FastAPI) -> None:
    """Who is asking, at the door: a request under /api/v1 (but the OpenAPI document and its page) without a
    token that verifies is refused with 401 before its parameters or body are read. What it may do is decided
    after routing, by policy.authorize."""
    @app.middleware("http")
    async def authenticate(request: Request, call_next):
        if request.url.path.startswith(API) and request.url.path not in OPEN_PATHS:
            try:
                request.state.caller = await run_in_threadpool(request.app.state.service.caller,
                                                               request.headers.get("authorization"))
            except HTTPException as error:
                return _problem(error.status_code, error.detail, error.headers)
        return await call_next(request)


PROBLEMS = {status: {"model": Problem, "content": {PROBLEM: {}}, "description": description}
            for status, description in ((400, "a body that cannot be parsed"),
                                        (401, "no token, or one that does not verify"),
                                        (403, "an action the caller's role may not take in its own tenant"),
                                        (404, "a tenant or document the caller may not see"),
                                        (422, "a request that breaks a rule"))}


def routers() -> list[APIRouter]:
    from billing.service.routers import admin, budgets, costs, invoices, payment_method, plan, tenants, usage

    return [module.router for module in (tenants, plan, usage, costs, invoices, payment_method, budgets, admin)]


def check_every_route_has_a_rule(app: FastAPI) -> None:
    """A route without a permission rule would be open to anyone with a token: refuse to start."""
    missing = [f"{method} {API}{route.original_route.path}" for route in iter_route_contexts(app.routes)
               if isinstance(route.original_route, APIRoute)
               for method in route.methods if rule_of(method, route.original_route.path) is None]
    if missing:
        raise RuntimeError(f"routes without a permission rule in billing/service/policy.py: {', '.join(missing)}")


def create_app(settings: Settings | None = None, extra_routers: tuple[APIRouter, ...] = ()) -> FastAPI:
    settings = settings or Settings.from_env()
    ledger = Ledger(settings.ledger_url)
    ledger.migrate()
    app = FastAPI(title="Billing Service", version="1", openapi_url=f"{API}/openapi.json", docs_url=f"{API}/docs",
                  redoc_url=None, description="The Billing page's back end (contract section 6). Every request "
                  "but this document carries Authorization: Bearer <JWT>.")
    app.state.service = Service(settings, ledger, InvoiceBook(ledger, settings.invoice_grace_days),
                                WarehouseReader(settings), load_price_book(settings.price_book),
                                Verifier(IdentityConfig.from_env(settings)))
    _install_problem_handlers(app)
    _install_authentication(app)
    for router in (*routers(), *extra_routers):
        app.include_router(router, prefix=API, dependencies=[Depends(authorize)], responses=PROBLEMS)
    check_every_route_has_a_rule(app)
    from billing.service.page import ROOT, create_page  # the Billing page (docs/page.md), on this same service

    app.mount(ROOT, create_page(app.state.service))
    return app
