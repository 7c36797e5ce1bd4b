"""Changes through the Billing Service over HTTP: every write's permission cells, payment methods through a
Stripe SetupIntent (localstripe), budgets, notifications, plan change requests and direct changes (kept by a
later directory import), invoices across tenants and mark-paid, each with its audit row."""
from datetime import datetime

import httpx
import pytest
import yaml

from billing.alerts import AlertBook, Crossing
from billing.directory import parse_directory
from billing.ledger import Ledger
from tests.conftest import NOW, Metering, tenant
from tests.service_fixtures import API, BillingService, Tokens, people, seed
from tests.test_service_policy import OTHER, OWN, headers_for


@pytest.fixture(scope="module")
def writable(tmp_path_factory, localstripe_server):
    home = tmp_path_factory.mktemp("writes") / "billing"
    seed(home)
    server = BillingService(home, STRIPE_API_KEY="sk_test_billing", STRIPE_API_BASE=localstripe_server.url).start()
    yield server, home, Tokens(home)
    server.stop()


@pytest.fixture
def client(writable):
    server, _, _ = writable
    with httpx.Client(base_url=server.url + API, timeout=60) as http:
        yield http


def call(client, method, path, headers, body=None):
    return client.request(method, path, headers=headers, json=body)


def new_request(client, tokens, tenant_id, plan):
    response = call(client, "POST", f"/tenants/{tenant_id}/plan-change-requests", tokens.platform_admin(),
                    {"plan": plan, "effective": "2026-12-01"})
    assert response.status_code == 201, response.text
    return response.json()["request_id"]


def new_budget(client, tokens, tenant_id):
    return call(client, "POST", f"/tenants/{tenant_id}/budgets", tokens.platform_admin(),
                {"amount_usd": 123, "channels": ["email"]}).json()["budget_id"]


def invoice_number(client, tokens, tenant_id):
    return call(client, "GET", f"/tenants/{tenant_id}/invoices", tokens.platform_admin()).json()[-1]["invoice_number"]


CURRENT_PLAN = {OWN: "professional", OTHER: "starter"}
# path and body for a tenant (and a fresh request id, budget id or invoice where the route needs one)
WRITES = {
    "payment method get": ("GET", lambda c, k, t: (f"/tenants/{t}/payment-method", None)),
    "payment method put": ("PUT", lambda c, k, t: (f"/tenants/{t}/payment-method",
                                                   {"type": "card", "stripe_payment_method": "pm_card_visa"})),
    "budgets get": ("GET", lambda c, k, t: (f"/tenants/{t}/budgets", None)),
    "budgets post": ("POST", lambda c, k, t: (f"/tenants/{t}/budgets", {"amount_usd": 250.5, "channels": ["in_app"]})),
    "budgets delete": ("DELETE", lambda c, k, t: (f"/tenants/{t}/budgets/{new_budget(c, k, t)}", None)),
    "notifications": ("GET", lambda c, k, t: (f"/tenants/{t}/notifications", None)),
    "ask plan change": ("POST", lambda c, k, t: (f"/tenants/{t}/plan-change-requests",
                                                 {"plan": CURRENT_PLAN[t], "effective": "2026-12-01"})),
    "approve": ("POST", lambda c, k, t: (f"/plan-change-requests/{new_request(c, k, t, CURRENT_PLAN[t])}/approve", None)),
    "reject": ("POST", lambda c, k, t: (f"/plan-change-requests/{new_request(c, k, t, CURRENT_PLAN[t])}/reject",
                                        {"reason": "not now"})),
    "change plan": ("PUT", lambda c, k, t: (f"/tenants/{t}/plan", {"plan": CURRENT_PLAN[t], "effective": "2026-12-01"})),
    "mark paid": ("POST", lambda c, k, t: (f"/tenants/{t}/invoices/{invoice_number(c, k, t)}/mark-paid",
                                           {"reference": "WIRE-1"})),
    "audit log": ("GET", lambda c, k, t: (f"/tenants/{t}/audit", None)),
}
ALL = dict(platform_admin=("ok", "ok"), tenant_admin=("ok", 404), billing_contact=("ok", 404), member=(403, 404),
           no_token=(401, 401), bad_token=(401, 401))
ASK = dict(ALL, billing_contact=(403, 404))
ADMIN_ONLY = dict(ALL, tenant_admin=(403, 404), billing_contact=(403, 404))
EXPECTED = {name: ALL for name in WRITES} | {"ask plan change": ASK, "approve": ADMIN_ONLY, "reject": ADMIN_ONLY,
                                             "change plan": ADMIN_ONLY, "mark paid": ADMIN_ONLY, "audit log": ADMIN_ONLY}
SUCCESS = {"GET": 200, "PUT": 200, "POST": 201, "DELETE": 204}
DECISIONS = ("approve", "reject", "mark paid")  # 200: they act on what exists


@pytest.mark.parametrize("role", ["platform_admin", "tenant_admin", "billing_contact", "member", "no_token", "bad_token"])
@pytest.mark.parametrize("endpoint", WRITES)
@pytest.mark.parametrize("whose", ["own", "other"])
def test_every_write_cell_answers_its_status_code(role, endpoint, whose, client, writable, stripe_client):
    _, _, tokens = writable
    method, make = WRITES[endpoint]
    path, body = make(client, tokens, OWN if whose == "own" else OTHER)
    expected = EXPECTED[endpoint][role][whose == "other"]
    if expected == "ok":
        expected = 200 if endpoint in DECISIONS else SUCCESS[method]
    response = call(client, method, path, headers_for(role, tokens), body)
    assert response.status_code == expected, response.text


def audit_events(client, tokens, tenant_id):
    return call(client, "GET", f"/tenants/{tenant_id}/audit", tokens.platform_admin()).json()


def test_a_card_through_a_stripe_setup_intent(client, writable, stripe_client):
    _, _, tokens = writable
    contact = tokens.user("acme-billing_contact")
    intent = call(client, "POST", "/tenants/acme/payment-method/setup-intent", contact, {"type": "card"})
    assert intent.status_code == 201, intent.text
    setup = intent.json()
    assert setup["client_secret"].startswith(setup["setup_intent_id"])
    # what Stripe.js does in the page: confirm the SetupIntent with the card the user typed
    confirmed = stripe_client.v1.setup_intents.confirm(setup["setup_intent_id"], params={"payment_method": "pm_card_visa"})
    assert confirmed.status == "succeeded"
    response = call(client, "PUT", "/tenants/acme/payment-method", contact,
                    {"type": "card", "stripe_payment_method": confirmed.payment_method})
    assert response.status_code == 200, response.text
    assert response.json() == {"tenant_id": "acme", "type": "card", "stripe_payment_method": confirmed.payment_method,
                               "display": "visa ending 4242"}
    [entry] = [e for e in audit_events(client, tokens, "acme") if e["event"] == "payment_method_set"][:1]
    assert (entry["actor"], entry["actor_role"]) == ("acme-billing_contact", "billing_contact")
    assert entry["after"]["stripe_payment_method"] == confirmed.payment_method


def test_payment_rules_of_section_2_are_422(client, writable, stripe_client):
    _, _, tokens = writable
    admin = tokens.user("beta-tenant_admin")
    for body, detail in [({"type": "wire"}, "'wire' is for enterprise tenants only"),
                         ({"type": "invoice"}, "'invoice' is for enterprise tenants only"),
                         ({"type": "card"}, "stripe_payment_method is required for card"),
                         ({"type": "cheque"}, "type: Input should be")]:
        response = call(client, "PUT", "/tenants/beta/payment-method", admin, body)
        assert response.status_code == 422 and detail in response.json()["detail"], response.text
    assert call(client, "PUT", "/tenants/big/payment-method", tokens.user("big-tenant_admin"),
                {"type": "wire"}).status_code == 200


def test_budgets_and_notifications(client, writable):
    server, home, tokens = writable
    contact = tokens.user("acme-billing_contact")
    added = call(client, "POST", "/tenants/acme/budgets", contact, {"amount_usd": 900, "channels": ["email", "sms"]})
    assert added.status_code == 201 and added.json()["amount_usd"] == 900
    budgets = call(client, "GET", "/tenants/acme/budgets", contact).json()
    assert {"budget_id": added.json()["budget_id"], "amount_usd": 900, "channels": ["email", "sms"]} in budgets
    assert call(client, "DELETE", f"/tenants/acme/budgets/{added.json()['budget_id']}", contact).status_code == 204
    assert call(client, "DELETE", f"/tenants/acme/budgets/{added.json()['budget_id']}", contact).status_code == 404
    assert call(client, "POST", "/tenants/acme/budgets", contact, {"amount_usd": -1, "channels": ["email"]}).status_code == 422
    events = [e["event"] for e in audit_events(client, tokens, "acme")]
    assert "budget_added" in events and "budget_removed" in events
    # an alert fired by the close reaches the users' in-app notifications
    ledger = Ledger(Metering(home).settings.ledger_url)
    AlertBook(ledger).record(ledger.tenant("acme"), "2026-11", [Crossing("llm_tokens", "warning", "80 %", ("in_app",))],
                             datetime.fromisoformat(NOW))
    listed = call(client, "GET", "/tenants/acme/notifications", contact)
    assert listed.status_code == 200, listed.text
    [mine] = listed.json()
    assert mine["user_id"] == "acme-billing_contact" and mine["read_at"] is None
    read = call(client, "POST", f"/tenants/acme/notifications/{mine['notification_id']}/read", contact)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    others = call(client, "POST", f"/tenants/acme/notifications/{mine['notification_id']}/read", tokens.user("acme-tenant_admin"))
    assert others.status_code == 404  # not addressed to them


def test_a_plan_change_request_approved_takes_effect_and_a_directory_import_keeps_it(client, writable):
    server, home, tokens = writable
    asked = call(client, "POST", "/tenants/beta/plan-change-requests", tokens.user("beta-tenant_admin"),
                 {"plan": "professional", "effective": "2026-11-16"})
    assert asked.status_code == 201 and asked.json()["status"] == "pending"
    request_id = asked.json()["request_id"]
    plan = call(client, "GET", "/tenants/beta/plan", tokens.user("beta-billing_contact")).json()
    assert request_id in [r["request_id"] for r in plan["pending_requests"]]
    assert call(client, "POST", f"/plan-change-requests/{request_id}/approve", tokens.user("beta-tenant_admin")).status_code == 403
    elsewhere = call(client, "POST", f"/plan-change-requests/{request_id}/approve", tokens.user("acme-tenant_admin"))
    assert elsewhere.status_code == 404 and "beta" not in elsewhere.text  # nothing said of whose request it is
    approved = call(client, "POST", f"/plan-change-requests/{request_id}/approve", tokens.platform_admin("olga"))
    assert approved.status_code == 200 and approved.json()["decided_by"] == "olga"
    assert call(client, "POST", f"/plan-change-requests/{request_id}/reject", tokens.platform_admin()).status_code == 422
    # prorated by day: 15 days of starter, 15 of professional in November
    usage = call(client, "GET", "/tenants/beta/costs?month=2026-11", tokens.user("beta-tenant_admin")).json()
    assert usage["total_usd"] == 49.5 + 249.5
    # the directory, which still says starter, is imported again: the change made here stays, and is counted
    metering = Metering(home)
    directory = parse_directory(yaml.safe_dump({"tenants": [tenant("beta", plan="starter", users=people("beta"))]}))
    summary = Ledger(metering.settings.ledger_url).import_directory(directory, metering.settings.today())
    assert summary["api_plan_changes_kept"] >= 1  # with those the other tests made
    timeline = call(client, "GET", "/tenants/beta/plan", tokens.platform_admin()).json()["plan_changes"]
    assert {"effective": "2026-11-16", "plan": "professional"} in timeline
    [entry] = [e for e in audit_events(client, tokens, "beta") if e["event"] == "plan_change_approved"
               and e["details"] == request_id]
    assert (entry["actor"], entry["actor_role"]) == ("olga", "platform_admin")
    assert {"effective": "2026-11-16", "plan": "professional"} in entry["after"]["plan_changes"]


def test_plan_changes_that_break_a_rule_are_422(client, writable):
    _, _, tokens = writable
    admin = tokens.platform_admin()
    cases = [({"plan": "professional", "effective": "2026-10-31"}, "a plan change starts in the open month or later"),
             ({"plan": "gold", "effective": "2026-12-01"}, "plan: Input should be"),
             ({"plan": "starter", "effective": "2026-12-01"}, "is for enterprise tenants only")]
    for body, detail in cases:
        response = call(client, "PUT", "/tenants/big/plan", admin, body)
        assert response.status_code == 422 and detail in response.json()["detail"], response.text


def test_operators_list_invoices_overdue_first_and_record_a_wire_with_the_actor_from_the_token(client, writable):
    server, home, tokens = writable
    ledger = Ledger(Metering(home).settings.ledger_url)
    with ledger.engine.begin() as con:
        con.exec_driver_sql("UPDATE invoices SET status = 'overdue' WHERE tenant_id = 'big' AND period = '2026-10'")
    listed = call(client, "GET", "/invoices?month=2026-10", tokens.platform_admin()).json()
    assert len(listed) == 3
    assert listed[0]["tenant_id"] == "big" and listed[0]["status"] == "overdue"
    overdue = call(client, "GET", "/invoices?status=overdue", tokens.platform_admin()).json()
    assert [i["tenant_id"] for i in overdue] == ["big"]
    own = call(client, "GET", "/invoices", tokens.user("acme-billing_contact")).json()
    assert {i["tenant_id"] for i in own} == {"acme"}
    number = listed[0]["invoice_number"]
    paid = call(client, "POST", f"/tenants/big/invoices/{number}/mark-paid?actor=mallory", tokens.platform_admin("olga"),
                {"reference": "WIRE-77"})
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    with ledger.engine.connect() as con:
        actors = {row.actor for row in con.exec_driver_sql(
            "SELECT actor FROM audit_log WHERE invoice_id = ? AND event IN ('manual_payment', 'invoice_marked_paid')",
            (paid.json()["invoice_id"],))}
    assert actors == {"olga"}
    again = call(client, "POST", f"/tenants/big/invoices/{number}/mark-paid", tokens.platform_admin(), {"reference": "W"})
    assert again.status_code == 422 and "already paid" in again.json()["detail"]


def test_ach_is_for_us_tenants_only(client, writable, stripe_client):
    _, home, tokens = writable
    Metering(home).import_tenants(tenant("euro", country="DE", users=people("euro")))
    admin = tokens.user("euro-tenant_admin")
    for method, path, body in [("POST", "/tenants/euro/payment-method/setup-intent", {"type": "ach"}),
                               ("PUT", "/tenants/euro/payment-method", {"type": "ach", "stripe_payment_method": "pm_usBankAccount"})]:
        response = call(client, method, path, admin, body)
        assert response.status_code == 422 and "'ach' is for US tenants only" in response.json()["detail"], response.text
    assert call(client, "POST", "/tenants/euro/payment-method/setup-intent", admin, {"type": "card"}).status_code == 201
