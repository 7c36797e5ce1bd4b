"""Money in the API's JSON over HTTP: exact numbers, digit for digit however large, written by the encoder of
the close's JSON files (billing/money.py), while the OpenAPI document says `number` (billing/service/exact_json.py)."""
import json
from decimal import Decimal as D

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from billing.money import loads
from tests.conftest import Metering, tenant
from tests.service_fixtures import API, OCTOBER_CLOSE, BillingService, Tokens, people

HUGE = D("99999999999999.99")  # the largest amount below 10^14 in cents: a float holds only 15-17 digits


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    """A service whose one tenant has an Enterprise fee of HUGE, invoiced for October."""
    from billing.invoices import InvoiceBook
    from billing.ledger import Ledger
    from billing.price_book import load_price_book
    from billing.pricing import rate

    home = tmp_path_factory.mktemp("money") / "billing"
    metering = Metering(home)
    metering.import_tenants(tenant("huge", plan="enterprise", contract_monthly_fee=str(HUGE), users=people("huge"),
                                   payment_method={"type": "wire"}))
    ledger = Ledger(metering.settings.ledger_url)
    book = InvoiceBook(ledger)
    book.record(ledger.tenant("huge"), rate(ledger.tenant("huge"), "2026-10", {},
                                            load_price_book(metering.settings.price_book)), OCTOBER_CLOSE)
    server = BillingService(home).start()
    with httpx.Client(base_url=server.url, timeout=30) as api:
        yield api, Tokens(home)
    server.stop()


def test_an_invoice_and_its_cost_breakdown_come_back_with_every_digit(huge):
    api, tokens = huge
    headers = tokens.user("huge-billing_contact")
    history = api.get(f"{API}/tenants/huge/invoices", headers=headers)
    assert history.status_code == 200 and history.headers["content-type"] == "application/json"
    assert '"subtotal":99999999999999.99' in history.text and '"total":99999999999999.99' in history.text
    [invoice] = loads(history.text)  # a reader that parses numbers as Decimal gets them exact
    assert invoice["total"] == invoice["lines"][0]["amount"] == HUGE and invoice["tax"] == 0
    costs = api.get(f"{API}/tenants/huge/costs?month=2026-10", headers=headers)
    assert '"total_usd":99999999999999.99' in costs.text
    breakdown = loads(costs.text)
    assert breakdown["total_usd"] == HUGE == sum(user["cost_usd"] for user in breakdown["by_user"])
    assert D(json.loads(costs.text)["total_usd"]) != HUGE  # what a float would have made of it


def test_money_is_a_number_in_the_openapi_document(huge):
    api, _ = huge
    schemas = api.get(f"{API}/openapi.json").json()["components"]["schemas"]
    assert schemas["Invoice"]["properties"]["total"]["type"] == "number"
    assert schemas["CostBreakdown"]["properties"]["total_usd"]["type"] == "number"


def test_every_route_with_a_document_writes_it_exactly(tmp_path):
    from billing.service.app import create_app
    from billing.service.exact_json import ExactJSONRoute
    from billing.settings import Settings

    app = create_app(Settings.from_env({"BILLING_HOME": str(tmp_path)}))
    documents = [context.original_route for context in iter_route_contexts(app.routes)
                 if isinstance(context.original_route, APIRoute) and context.original_route.response_model]
    assert len(documents) > 20
    assert [route.path for route in documents if not isinstance(route, ExactJSONRoute)] == []
