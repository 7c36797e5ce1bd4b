"""The Billing page's read endpoints over HTTP (`billing serve` on loopback): the documents of contract
sections 4 and 6 with the figures of the seeded ledger and warehouse (tests/service_fixtures.py)."""
from decimal import Decimal as D

from tests.service_fixtures import API, api, billing_service, service_home, tokens  # noqa: F401 - fixtures


def get(api, path, headers):
    response = api.get(API + path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_usage_month_to_date_is_the_seeds_usage_metrics(api, tokens):
    usage = get(api, "/tenants/acme/usage", tokens.user("acme-billing_contact"))  # no month: the open one
    assert usage["period"] == "2026-11" and usage["month_to_date"] is True and usage["plan"] == "professional"
    assert usage["llm_tokens"] == {"used": 1500000, "limit": 5000000, "percentage": 30.0}
    assert usage["queries"] == {"used": 250, "limit": 100000, "percentage": 0.25}
    assert usage["storage_gb"] == {"used": 40.5, "limit": 100, "percentage": 40.5}
    assert usage["compute_hours"]["used"] == 1.5
    assert usage["last_ingested_at"] is not None
    october = get(api, "/tenants/acme/usage?month=2026-10", tokens.user("acme-billing_contact"))
    assert october["month_to_date"] is False and october["llm_tokens"]["used"] == 0


def test_daily_usage_per_category_for_charts(api, tokens):
    series = get(api, "/tenants/acme/usage/daily?month=2026-11", tokens.user("acme-tenant_admin"))
    days = {d["day"]: d for d in series["days"]}
    assert len(days) == 29  # every day so far (today is 2026-11-29)
    assert days["2026-11-02"] == {"day": "2026-11-02", "llm_tokens": 1200000, "queries": 250, "storage_gb": 40.5,
                                  "api_requests": 0, "compute_hours": 0, "events": 3}
    assert days["2026-11-03"]["compute_hours"] == 1.5 and days["2026-11-04"]["events"] == 0


def test_costs_of_an_invoiced_month_add_up_to_its_subtotal(api, tokens):
    headers = tokens.user("acme-tenant_admin")
    costs = get(api, "/tenants/acme/costs?month=2026-10", headers)
    invoice = get(api, "/tenants/acme/invoices", headers)[1]
    assert costs["estimate"] is False and costs["invoice_id"] == invoice["invoice_id"]
    assert D(str(costs["total_usd"])) == D(str(invoice["subtotal"]))
    services = sum(D(str(v)) for figures in costs["by_service"].values() for v in figures.values())
    assert services == D(str(costs["total_usd"])) == sum(D(str(u["cost_usd"])) for u in costs["by_user"])
    estimate = get(api, "/tenants/beta/costs?month=2026-11", tokens.platform_admin())  # beta has no invoice yet
    assert estimate["estimate"] is True and estimate["invoice_id"] is None


def test_invoice_history_one_invoice_and_its_pdf(api, tokens):
    headers = tokens.user("acme-billing_contact")
    november, invoice = get(api, "/tenants/acme/invoices", headers)  # newest first
    assert (november["period"], november["state"], november["pdf_url"]) == ("2026-11", "draft", None)
    assert (invoice["period"], invoice["status"], invoice["state"], invoice["currency"]) == ("2026-10", "pending", "final", "USD")
    assert invoice["total"] == 500.0 and invoice["due_date"] == "2026-11-01"  # 499 + 250 queries x 0.004
    assert invoice["pdf_url"] == f"{api.base_url}{API}/tenants/acme/invoices/{invoice['invoice_id']}/pdf"
    by_number = get(api, f"/tenants/acme/invoices/{invoice['invoice_number']}", headers)
    assert by_number == invoice
    pdf = api.get(invoice["pdf_url"], headers=headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_plan_overview_shows_tiers_current_plan_and_limits(api, tokens):
    plan = get(api, "/tenants/big/plan", tokens.user("big-billing_contact"))
    assert (plan["plan"], plan["price"]) == ("enterprise", 5000)
    assert plan["limits"]["llm_tokens"] is None and plan["limits"]["storage_gb"] == 1024
    assert [t["plan"] for t in plan["tiers"]] == ["starter", "professional", "enterprise"]
    assert plan["tiers"][0]["base_price"] == 99 and plan["tiers"][2]["base_price"] is None
    assert plan["pending_requests"] == []


def test_bad_parameters_are_one_line_problems(api, tokens):
    admin = tokens.platform_admin()
    for path in ("/tenants/acme/usage?month=2026-13", "/tenants/acme/usage?month=26-11"):
        response = api.get(API + path, headers=admin)
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"].startswith("query.month:")
    assert api.get(API + "/tenants/%20acme/plan", headers=admin).status_code == 422
