"""The Billing Service served by uvicorn on loopback (`billing serve`), on a ledger, warehouse and object store
with three tenants: acme (professional, US, card), beta (starter) and big (enterprise, invoice), each with a
tenant admin, a billing contact and a member, usage in November 2026, final invoices for October with their
PDFs, and the draft invoices of acme and big (storage above enterprise's 1 TB) for November so far."""
from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest

from tests.conftest import NOW, Metering, event, tenant
from tests.servers import ServerProcess

BILLING = str(Path(sys.executable).with_name("billing"))
API = "/api/v1"
OCTOBER_CLOSE = datetime(2026, 11, 3, tzinfo=timezone.utc)  # after the grace days: October's invoices are final


def people(tenant_id: str) -> list[dict]:
    return [{"user_id": f"{tenant_id}-{role}", "name": f"{role} of {tenant_id}", "email": f"{role}@{tenant_id}.example",
             "role": role} for role in ("tenant_admin", "billing_contact", "member")]


def seed(home: Path, object_store: str | None = None) -> Metering:
    """`object_store`: where the PDFs go (an s3:// URI), else the folder store under `home`."""
    from billing.invoices import InvoiceBook
    from billing.ledger import Ledger
    from billing.object_store import open_object_store, pdf_key
    from billing.pdf import render_invoice, usage_summary
    from billing.price_book import load_price_book
    from billing.pricing import rate

    metering = Metering(home)
    metering.import_tenants(
        tenant("acme", users=people("acme"), budgets=[{"amount_usd": 600, "channels": ["email", "in_app"]}]),
        tenant("beta", plan="starter", users=people("beta")),
        tenant("big", plan="enterprise", users=people("big"), payment_method={"type": "invoice"}))
    metering.write("2026-11-02", [
        event("e1", "2026-11-02T10:00:00Z", "acme", "llm_tokens", "1200000", user_id="acme-tenant_admin"),
        event("e2", "2026-11-02T11:00:00Z", "acme", "sql_queries", "250", user_id="acme-billing_contact"),
        event("e3", "2026-11-02T12:00:00Z", "acme", "storage_gb", "40.5", user_id=None),
        event("e4", "2026-11-02T13:00:00Z", "beta", "api_requests", "5000", user_id="beta-member"),
        event("bad", "2026-11-02T13:00:00Z", "acme", "llm_tokens", "-5"),
        event("s1", "2026-11-02T23:00:00Z", "big", "storage_gb", "1030.25", user_id=None),
    ])
    metering.write("2026-11-03", [
        event("e5", "2026-11-03T09:00:00Z", "acme", "llm_tokens", "300000", user_id="acme-tenant_admin"),
        event("e6", "2026-11-03T09:30:00Z", "acme", "compute_minutes", "90", user_id="acme-member"),
        event("s2", "2026-11-03T23:00:00Z", "big", "storage_gb", "1000", user_id=None),
    ])
    metering.ingest("2026-11-02", "2026-11-03")
    ledger = Ledger(metering.settings.ledger_url)
    book = InvoiceBook(ledger)
    price_book = load_price_book(metering.settings.price_book)
    for t in ledger.tenants():
        book.record(t, rate(t, "2026-10", {"sql_queries": D(100_250)}, price_book), OCTOBER_CLOSE)
    # November so far, as a draft: the usage above behind its lines
    from billing.aggregate import live_monthly_totals
    from billing.warehouse import Warehouse

    totals = live_monthly_totals(Warehouse(metering.settings.warehouse_dir).connect(), "2026-11")
    for tenant_id in ("acme", "big"):
        drafted = ledger.tenant(tenant_id)
        book.record(drafted, rate(drafted, "2026-11", totals[tenant_id], price_book), datetime.fromisoformat(NOW))
    store, keys = open_object_store(object_store or metering.settings.object_store, metering.settings.aws_endpoint_url), {}
    for invoice in book.of_period("2026-10"):
        keys[invoice.invoice_id] = pdf_key(invoice.period, invoice.invoice_id)
        billed = ledger.tenant(invoice.tenant_id)
        usage = usage_summary(invoice, billed, {"sql_queries": D(100_250)}, price_book)
        store.put(keys[invoice.invoice_id], render_invoice(invoice, billed, usage, metering.settings.seller),
                  "application/pdf")
    book.set_pdfs(keys)
    return metering


def service_environment(home: Path, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BILLING_", "DAGSTER_", "STRIPE_"))}
    environment.update(BILLING_HOME=str(home), BILLING_NOW=NOW, **extra)
    return environment


class BillingService(ServerProcess):
    ready_path = f"{API}/openapi.json"

    def __init__(self, home: Path, **environment: str):
        super().__init__()
        self.home, self.extra = home, environment

    def command(self) -> list[str]:
        return [BILLING, "serve", "--host", "127.0.0.1", "--port", str(self.port)]

    def environment(self) -> dict[str, str]:
        return service_environment(self.home, **self.extra)


class Tokens:
    """Bearer tokens signed with the service's embedded key, as `billing token` makes them."""

    def __init__(self, home: Path):
        from billing.service.identity import IdentityConfig
        from billing.settings import Settings

        self.config = IdentityConfig.from_env(Settings.from_env({"BILLING_HOME": str(home)}), {})

    def user(self, user_id: str) -> dict[str, str]:
        from billing.service.identity import mint_token

        return {"Authorization": f"Bearer {mint_token(self.config, user_id)[0]}"}

    def platform_admin(self, name: str = "olga") -> dict[str, str]:
        from billing.service.identity import mint_token

        return {"Authorization": f"Bearer {mint_token(self.config, name, platform_admin=True)[0]}"}


@pytest.fixture(scope="session")
def service_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("service") / "billing"
    seed(home)
    return home


@pytest.fixture(scope="session")
def billing_service(service_home):
    server = BillingService(service_home).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tokens(service_home) -> Tokens:
    return Tokens(service_home)


@pytest.fixture
def api(billing_service):
    with httpx.Client(base_url=billing_service.url, timeout=30) as client:
        yield client
