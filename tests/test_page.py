"""The Billing page in Debian's Chromium (Playwright, no downloaded browser): each person's journey, the
refusals, sign-in and CSRF, and an axe-core scan of every section per role. Screenshots of every section per
role and width go to tests/artifacts/ (ignored by git).

The service runs as `billing serve` on loopback with localstripe as Stripe (its test Stripe.js included), on a
home of its own: acme (professional, card), beta (starter, usage near its limits, with notifications) and big
(enterprise, invoice)."""
from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from billing.sql import query
from tests.conftest import NOW, event, tenant
from tests.service_fixtures import BILLING, BillingService, Tokens, people, seed, service_environment

HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
AXE = HERE / "vendor" / "axe.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SECTIONS = ("plan", "usage", "invoices", "costs", "payment", "alerts")
WIDTHS = (375, 1440)


@pytest.fixture(scope="module")
def page_home(tmp_path_factory) -> Path:
    from billing.alerts import AlertBook, evaluate
    from billing.aggregate import live_monthly_totals
    from billing.invoices import InvoiceBook
    from billing.ledger import Ledger
    from billing.payments import Payments
    from billing.price_book import load_price_book
    from billing.warehouse import Warehouse

    home = tmp_path_factory.mktemp("page") / "billing"
    metering = seed(home)
    metering.write("2026-11-20", [  # beta near its starter limits: tokens at 90 % (amber), queries at 98 % (red)
        event("b1", "2026-11-20T10:00:00Z", "beta", "llm_tokens", "450000", user_id="beta-tenant_admin"),
        event("b2", "2026-11-20T11:00:00Z", "beta", "sql_queries", "9800", user_id="beta-billing_contact")])
    metering.ingest("2026-11-20")
    ledger = Ledger(metering.settings.ledger_url)
    beta = ledger.tenant("beta")
    totals = live_monthly_totals(Warehouse(metering.settings.warehouse_dir).connect(), "2026-11", "beta")["beta"]
    now = metering.settings.now()
    book = InvoiceBook(ledger)  # beta's October card was declined and the invoice is past due: overdue
    october = book.of_tenant_period("beta", "2026-10")
    declined = {"attempt_id": "pay_beta_1", "invoice_id": october.invoice_id, "attempt_no": 1, "amount_cents": 100,
                "now": NOW, "status": "failed", "payment_intent": None, "error_code": "card_declined"}
    with ledger.engine.begin() as con:
        con.execute(sa.text(query("ledger/attempt_insert")), declined)
        con.execute(sa.text(query("ledger/attempt_finish")), declined)
    Payments(book, None).mark_overdue("2026-10", metering.settings.today())
    AlertBook(ledger).record(beta, "2026-11", evaluate(beta, "2026-11", totals, load_price_book(metering.settings.price_book), now), now)
    return home


@pytest.fixture(scope="module")
def page_service(page_home, localstripe_server):
    localstripe_server.reset()
    server = BillingService(page_home, STRIPE_API_KEY="sk_test_billing", STRIPE_API_BASE=localstripe_server.url,
                            STRIPE_PUBLISHABLE_KEY="pk_test_billing",
                            STRIPE_JS_URL=f"{localstripe_server.url}/js.stripe.com/v3/").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Chromium hangs under libfaketime (scripts/test-year-ahead): it keeps the real clock, and needs no
        # other, since the page renders every date on the server.
        environment = {name: value for name, value in os.environ.items() if name != "LD_PRELOAD"}
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, env=environment)
        yield browser
        browser.close()


def link(home: Path, base_url: str, user: str | None = None, admin: str | None = None) -> str:
    from billing.ledger import Ledger
    from billing.service.page_session import login_link
    from billing.settings import Settings

    settings = Settings.from_env({"BILLING_HOME": str(home), "BILLING_NOW": NOW})
    return login_link(Ledger(settings.ledger_url), settings, base_url, user or admin, admin is not None)


def invoice_row(page, period: str):
    """A tenant user's invoice history row of a period (its second column)."""
    return page.locator(f"#invoices tbody tr:has(td:nth-child(2):text-is('{period}'))")


@pytest.fixture
def open_signed_in(chromium):
    """A browser page signed in to a service on a home, closed after the test."""
    contexts = []

    def open_as(home: Path, base_url: str, user: str | None = None, admin: str | None = None, width: int = 1440,
                bypass_csp: bool = False):
        # bypass_csp: only for injecting axe-core, which the page's Content-Security-Policy rightly refuses
        context = chromium.new_context(viewport={"width": width, "height": 900}, accept_downloads=True,
                                       bypass_csp=bypass_csp)
        contexts.append(context)
        page = context.new_page()
        page.goto(link(home, base_url, user, admin))
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in(open_signed_in, page_home, page_service):
    return functools.partial(open_signed_in, page_home, page_service.url)


def test_tenant_admin_reads_usage_downloads_a_pdf_and_requests_a_plan_change(sign_in, tmp_path):
    page = sign_in("acme-tenant_admin")
    assert page.url.endswith("/billing/t/acme")
    assert page.locator("#current-plan").inner_text() == "Professional"
    assert page.locator("tr.current th").inner_text().startswith("Professional")
    usage = page.locator("#usage")
    assert usage.locator(".meter").count() == 5
    tokens = usage.locator('[data-category="llm_tokens"]')
    assert "1,500,000 / 5,000,000 tokens" in tokens.inner_text() and "30.0\u00a0%" in tokens.inner_text()
    assert usage.locator("time").get_attribute("datetime")  # the moment of the last ingestion
    assert tokens.locator("svg rect.bar").count() == 29  # one bar a day, 1 to 29 November
    assert "2026-11-02: 1,200,000" in tokens.locator("svg rect.bar title").nth(1).text_content()

    page.fill('input[name="month"]', "2026-10")
    page.click('#usage button:text("Show")')
    page.wait_for_url("**month=2026-10**")
    assert page.locator('#usage [data-category="llm_tokens"] svg rect.bar').count() == 31

    row = invoice_row(page, "2026-10")
    amount = row.locator("td.num").inner_text().lstrip("$")
    with page.expect_download() as download:
        row.get_by_text("Download PDF").click()
    pdf = tmp_path / "invoice.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert amount in subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout

    row.get_by_text("View details").click()
    assert page.locator("h1").inner_text().startswith("Invoice INV-")
    assert page.locator("table.lines tbody tr").count() >= 1
    assert page.locator("td.total").inner_text() == f"${amount}"

    page.goto(page.url.split("/invoices/")[0])
    invoice_row(page, "2026-11").get_by_text("View details").click()
    page.locator("table.lines tbody tr").first.get_by_text("Explain").click()  # the base price: a fixed charge
    assert "A fixed charge" in page.locator("#explain").inner_text()
    assert page.locator("table.quarantined tbody tr").count() == 1  # acme's one bad row of November, with its reason

    page.goto(page.url.split("/invoices/")[0])
    page.select_option('#plan select[name="plan"]', "starter")
    page.fill('#plan input[name="effective"]', "2026-12-01")
    page.click('#plan button:text("Request a change")')
    expect(page.locator(".notice")).to_contain_text("Plan change requested")  # waits for the redirect
    assert "Pending request: Starter from 2026-12-01" in page.locator("#plan").inner_text()
    assert page.locator("#plan button:text('Change plan')").count() == 0


def test_a_line_drills_down_to_its_daily_figures_events_and_snapshot_rows(sign_in):
    page = sign_in("big-billing_contact", bypass_csp=True)
    invoice_row(page, "2026-11").get_by_text("View details").click()
    page.locator("table.lines tbody tr", has_text="torage").get_by_text("Explain").click()
    assert page.locator("#events-count").inner_text().startswith("2 usage events of storage_gb")
    assert page.locator("#explain svg rect.bar").count() == 30  # every day of November
    sources = page.locator("table.sources tbody tr").all_inner_texts()
    assert sources == ["2026-11-02\tpart-0000.csv\t1\t6", "2026-11-03\tpart-0000.csv\t1\t3"]
    axe_scan(page, AXE.read_text())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "billing_contact-explain-1440.png", full_page=True)
    page.go_back()
    axe_scan(page, AXE.read_text())  # the invoice's details


def test_enterprise_pays_by_invoice_or_wire_with_transfer_instructions(sign_in):
    page = sign_in("big-billing_contact")
    assert page.locator("#current-method").inner_text() == "Invoice (Net-30)"
    page.check('#payment input[value="wire"]')
    page.click('#payment button:text("Save payment method")')
    expect(page.locator("#current-method")).to_have_text("Wire transfer")
    assert "quoting the invoice number as the reference" in page.locator("#payment").inner_text()
    page.check('#payment input[value="invoice"]')
    page.click('#payment button:text("Save payment method")')
    expect(page.locator("#current-method")).to_have_text("Invoice (Net-30)")
    professional = sign_in("acme-billing_contact")
    assert professional.locator('#payment input[value="wire"]').count() == 0  # enterprise only


def test_usage_csv_and_a_zip_of_months_pdfs_download(sign_in, tmp_path):
    import zipfile

    page = sign_in("acme-billing_contact")
    with page.expect_download() as csv_download:
        page.click("#usage a:text('Download CSV of 2026-11')")
    lines = Path(csv_download.value.path()).read_text().splitlines()
    assert len(lines) > 1 and "llm_tokens" in "".join(lines)
    with page.expect_download() as zip_download:
        page.click("#invoices button:text('Download PDFs (ZIP)')")
    archive = tmp_path / "pdfs.zip"
    zip_download.value.save_as(archive)
    names = zipfile.ZipFile(archive).namelist()
    assert names and all(name.startswith("2026-10-") and name.endswith(".pdf") for name in names)


def test_notifications_show_unread_marks_and_can_be_marked_read(sign_in):
    page = sign_in("beta-billing_contact")  # before the next test moves beta to professional
    usage = page.locator("#usage")
    assert usage.locator('[data-category="llm_tokens"]').get_attribute("class").endswith("level-warning")
    assert usage.locator('[data-category="queries"]').get_attribute("class").endswith("level-critical")
    ARTIFACTS.mkdir(exist_ok=True)
    usage.screenshot(path=ARTIFACTS / "billing_contact-usage-levels-1440.png")
    unread = page.locator("#alerts .notifications li.unread")
    before = unread.count()
    assert before >= 1 and unread.first.locator(".unread-mark").inner_text() == "Unread"
    unread.first.locator('button:text("Mark as read")').click()
    page.wait_for_url("**done=read**")
    assert page.locator("#alerts .notifications li.unread").count() == before - 1


def test_platform_admin_approves_a_request_and_the_plan_overview_shows_it(sign_in):
    admin_of_beta = sign_in("beta-tenant_admin")
    assert admin_of_beta.locator("#current-plan").inner_text() == "Starter"
    admin_of_beta.select_option('#plan select[name="plan"]', "professional")
    admin_of_beta.click('#plan button:text("Request a change")')  # effective today, the default
    assert "Pending request: Professional" in admin_of_beta.locator("#plan").inner_text()

    operator = sign_in(admin="olga")
    assert "olga (platform admin)" in operator.locator("header").inner_text()
    statuses = operator.locator("#all-invoices tbody tr td .status").all_inner_texts()
    assert {"acme", "beta", "big"} <= set(operator.locator("#all-invoices tbody tr td:nth-child(2)").all_inner_texts())
    assert statuses[0] == "Overdue" and statuses == sorted(statuses, key=["Overdue", "Pending", "Paid"].index)
    operator.select_option('#all-invoices select[name="status"]', "overdue")
    operator.click('#all-invoices button:text("Filter")')
    operator.wait_for_url("**status=overdue**")
    assert set(operator.locator("#all-invoices tbody tr td .status").all_inner_texts()) == {"Overdue"}
    operator.fill('#tenants-heading ~ form input[name="tenant"]', "big")
    operator.click('#tenants-heading ~ form button:text("Open")')
    operator.wait_for_url("**/billing/t/big")
    assert operator.locator("h1").inner_text() == "Billing · big Inc"
    operator.goto(operator.url.split("/billing/")[0] + "/billing/")
    operator.click('#requests button[aria-label="Approve professional for beta"]')
    expect(operator.locator(".notice")).to_contain_text("Request approved")  # waits for the redirect
    operator.click('a:text("beta Inc")')
    assert operator.locator("#current-plan").inner_text() == "Professional"
    operator.select_option('#plan select[name="plan"]', "starter")
    operator.fill('#plan input[name="effective"]', "2026-12-01")
    operator.click("#plan button:text('Change plan')")  # operators change plans directly
    expect(operator.locator(".notice")).to_contain_text("Plan changed")
    assert "Scheduled: Starter from 2026-12-01." in operator.locator("#plan").inner_text()
    assert operator.locator("#current-plan").inner_text() == "Professional"  # until then

    admin_of_beta.reload()
    assert admin_of_beta.locator("#current-plan").inner_text() == "Professional"
    assert "Pending request" not in admin_of_beta.locator("#plan").inner_text()


def test_billing_contact_sets_a_budget_and_adds_a_card_through_stripe_js(sign_in):
    page = sign_in("acme-billing_contact")
    assert page.locator("#plan form").count() == 0  # no plan change control at all
    alerts = page.locator("#alerts")
    alerts.locator('input[name="amount_usd"]').fill("750")
    alerts.locator('input[value="sms"]').check()
    alerts.locator('button:text("Add budget")').click()
    expect(page.locator(".notice")).to_contain_text("Budget added")  # waits for the redirect
    assert "$750.00 a month · email, in_app, sms" in page.locator("#alerts .budgets").inner_text()
    page.click('#alerts button[aria-label="Remove the $750.00 budget"]')
    expect(page.locator(".notice")).to_contain_text("Budget removed")  # waits for the redirect
    assert "$750.00" not in page.locator("#alerts").inner_text()

    card = page.locator("#card-element input")
    for field, value in zip(("number", "exp_month", "exp_year", "cvc", "postal_code"),
                            ("4242424242424242", "12", "30", "123", "10001")):
        page.fill(f'#card-element input[placeholder="{field}"]', value)
    assert card.count() == 5  # localstripe's test Stripe.js mounted its card field
    page.click('#card-form button:text("Save card")')
    page.wait_for_url("**done=payment_method**")
    assert page.locator("#current-method").inner_text() == "Credit card"
    assert "4242" in page.locator("#payment").inner_text()


# -- ACH, which localstripe lacks: against Stripe's documented wire answers (tests/stripe_boundary.py), whose
# stand-in Stripe.js plays Stripe's bank window and confirms the SetupIntent from the browser as Stripe.js does.
@pytest.fixture(scope="module")
def ach_home(tmp_path_factory) -> Path:
    """The service's three US tenants, and euro, a German one."""
    home = tmp_path_factory.mktemp("ach") / "billing"
    seed(home).import_tenants(tenant("euro", country="DE", users=people("euro")))
    return home


@pytest.fixture(scope="module")
def ach_service(ach_home, stripe_boundary_server):
    server = BillingService(ach_home, STRIPE_API_KEY="sk_test_boundary", STRIPE_API_BASE=stripe_boundary_server.url,
                            STRIPE_PUBLISHABLE_KEY="pk_test_boundary",
                            STRIPE_JS_URL=f"{stripe_boundary_server.url}/js.stripe.com/v3/").start()
    yield server
    server.stop()


def test_a_us_billing_contact_adds_a_us_bank_account_through_stripe_js(open_signed_in, ach_home, ach_service,
                                                                       stripe_boundary):
    page = open_signed_in(ach_home, ach_service.url, "acme-billing_contact")
    bank = page.locator("#bank-form")
    bank.get_by_label("Account holder").fill("Acme Corp")
    bank.get_by_role("button", name="Connect a US bank account").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()  # closed Stripe's bank window
    expect(bank.locator("#bank-errors")).to_have_text("No bank account was connected.")

    bank.get_by_role("button", name="Connect a US bank account").click()
    page.get_by_role("dialog").get_by_role("button", name="STRIPE TEST BANK, checking ending 6789").click()
    page.wait_for_url("**done=payment_method**")
    assert page.locator("#current-method").inner_text() == "ACH transfer"
    assert "bank account ending 6789" in page.locator("#payment").inner_text()

    # On the wire: the service asked for a SetupIntent for a US bank account, verified at once, on each click ...
    asked = [form for _, form in stripe_boundary.sent("POST", "/v1/setup_intents")]
    assert len(asked) == 2 and asked[0] == asked[1]
    assert asked[0]["payment_method_types"] == ["us_bank_account"] and asked[0]["usage"] == "off_session"
    assert asked[0]["payment_method_options"] == {"us_bank_account": {"verification_method": "instant"}}
    assert asked[0]["metadata"] == {"tenant_id": "acme"}
    # ... the browser confirmed the second (the first was left when the window closed) with the publishable key
    # and the client secret: the secret key never leaves the service ...
    _, kept = stripe_boundary.setup_intents.values()
    [(path, headers, confirmed)] = [(path, headers, form) for _, path, headers, form in stripe_boundary.requests
                                    if path.endswith("/confirm")]
    assert path == f"/v1/setup_intents/{kept['id']}/confirm" and "Authorization" not in headers
    assert confirmed == {"key": "pk_test_boundary", "client_secret": kept["client_secret"],
                         "payment_method": "pm_usBankAccount_success"}
    # ... and the service read the account back with its secret key before saving it
    [(headers, _)] = stripe_boundary.sent("GET", "/v1/payment_methods/pm_usBankAccount_success")
    assert headers["Authorization"] == "Bearer sk_test_boundary"
    contact = Tokens(ach_home).user("acme-billing_contact")
    url = f"{ach_service.url}/api/v1/tenants/acme/payment-method"
    assert httpx.get(url, headers=contact).json() == {  # the API says what the page says
        "tenant_id": "acme", "type": "ach", "stripe_payment_method": "pm_usBankAccount_success",
        "display": "bank account ending 6789"}
    card_as_ach = httpx.put(url, headers=contact, json={"type": "ach", "stripe_payment_method": "pm_card_visa"})
    assert card_as_ach.status_code == 422
    assert card_as_ach.json()["detail"] == "pm_card_visa is a card payment method, not us_bank_account"
    acmes_as_betas = httpx.put(url.replace("/acme/", "/beta/"), headers=Tokens(ach_home).user("beta-billing_contact"),
                               json={"type": "ach", "stripe_payment_method": "pm_usBankAccount_success"})
    assert acmes_as_betas.status_code == 422
    assert acmes_as_betas.json()["detail"] == "pm_usBankAccount_success was set up for another customer, not tenant beta's"


def test_a_tenant_outside_the_us_is_offered_no_ach_and_refused_it(open_signed_in, ach_home, ach_service,
                                                                   stripe_boundary):
    page = open_signed_in(ach_home, ach_service.url, "euro-billing_contact")
    payment = page.locator("#payment")
    assert payment.locator("#bank-form").count() == 0 and "bank account" not in payment.inner_text()
    assert payment.locator("#card-form").count() == 1  # a card, as for everyone
    token = payment.locator('input[name="csrf_token"]').first.get_attribute("value")
    for path, form in (("/billing/t/euro/payment-method/setup-intent", {"type": "ach"}),
                       ("/billing/t/euro/payment-method", {"type": "ach", "stripe_payment_method": "pm_usBankAccount_success"})):
        refused = page.context.request.post(f"{ach_service.url}{path}", form={**form, "csrf_token": token}, max_redirects=0)
        assert refused.status == 422, refused.text()
        shown = html.unescape(refused.text())
        assert "<h1>Not done</h1>" in shown and "'ach' is for US tenants only (country is DE)" in shown
    assert stripe_boundary.requests == []  # refused before Stripe was asked anything
    page.reload()
    assert page.locator("#current-method").inner_text() == "Credit card"


def test_a_member_another_tenants_url_and_no_session_are_refused(sign_in, page_service, page_home):
    member = sign_in("acme-member")
    assert member.locator("h1").inner_text() == "No billing access"
    assert "acme Inc" not in member.content()
    response = member.goto(f"{page_service.url}/billing/t/acme")
    assert response.status == 403 and "Usage metering" not in member.content()

    admin = sign_in("acme-tenant_admin")
    for path in ("/billing/t/beta", "/billing/t/beta/invoices/INV-000002", "/billing/t/beta/invoices/INV-000002/pdf",
                 "/billing/t/beta/usage.csv", "/billing/t/nosuch"):
        response = admin.goto(f"{page_service.url}{path}")
        assert response.status == 404 and admin.locator("h1").inner_text() == "Not found"
        assert "beta Inc" not in admin.content()

    admin.goto(f"{page_service.url}/billing/t/acme")
    token = admin.locator('#alerts input[name="csrf_token"]').first.get_attribute("value")
    written = admin.context.request.post(f"{page_service.url}/billing/t/beta/budgets", max_redirects=0,
                                         form={"amount_usd": "42", "channels": "email", "csrf_token": token})
    assert written.status == 404  # a valid form of one's own session still writes nothing into another tenant
    beta = sign_in("beta-tenant_admin")
    assert "$42.00" not in beta.locator("#alerts").inner_text()

    with httpx.Client(base_url=page_service.url) as anonymous:
        refused = anonymous.get("/billing/t/acme")
        assert refused.status_code == 401 and "Sign in" in refused.text and "acme Inc" not in refused.text
        used_twice = link(page_home, page_service.url, "acme-tenant_admin")
        assert anonymous.get(used_twice).status_code == 303
        assert anonymous.get(used_twice).status_code == 401  # one time only
        assert anonymous.get("/billing/login?token=forged").status_code == 401


def test_forms_without_the_sessions_csrf_token_are_refused(sign_in, page_service):
    page = sign_in("acme-tenant_admin")
    request = page.context.request  # the signed-in session's cookie, without the page's CSRF token
    for token in ("", "not-the-token"):
        refused = request.post(f"{page_service.url}/billing/t/acme/budgets",
                               form={"amount_usd": "10", "channels": "email", "csrf_token": token}, max_redirects=0)
        assert refused.status == 403 and "Form expired" in refused.text()
    page.reload()
    assert "$10.00 a month" not in page.locator("#alerts").inner_text()


def test_sign_out_ends_the_session_and_cookies_are_http_only_and_same_site(sign_in, page_service):
    page = sign_in("acme-billing_contact")
    cookie = next(c for c in page.context.cookies() if c["name"] == "billing_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/billing"
    page.click('header button:text("Sign out")')
    assert page.locator("h1").inner_text() == "Signed out"
    with httpx.Client(base_url=page_service.url, cookies={"billing_session": cookie["value"]}) as replay:
        assert replay.get("/billing/t/acme").status_code == 401  # the old cookie signs no one in


def test_sessions_expire(page_home, monkeypatch):
    import time

    from billing.ledger import Ledger
    from billing.service.page_session import Sessions
    from billing.settings import Settings

    settings = Settings.from_env({"BILLING_HOME": str(page_home), "BILLING_NOW": NOW})
    sessions = Sessions(Ledger(settings.ledger_url), settings, minutes=30)
    started = sessions.start("acme-tenant_admin", False)
    assert sessions.of_cookie(started.cookie).subject == "acme-tenant_admin"
    assert sessions.of_cookie(started.cookie[:-1] + ("0" if started.cookie[-1] != "0" else "1")) is None  # signed
    link_token = sessions.make_link("acme-tenant_admin", False)
    later = time.time() + timedelta(minutes=31).total_seconds()
    monkeypatch.setattr(time, "time", lambda: later)
    assert sessions.of_cookie(started.cookie) is None
    assert sessions.spend_link(link_token) is None  # links expire sooner still


def test_links_and_sessions_on_a_postgresql_ledger(postgres_url, tmp_path):
    from billing.ledger import Ledger
    from billing.service.page_session import Sessions
    from billing.settings import Settings

    settings = Settings.from_env({"BILLING_HOME": str(tmp_path), "BILLING_LEDGER_URL": postgres_url, "BILLING_NOW": NOW})
    ledger = Ledger(settings.ledger_url)
    ledger.migrate()
    sessions = Sessions(ledger, settings)
    token = sessions.make_link("olga", True)
    started = sessions.spend_link(token)
    assert started.platform_admin and sessions.spend_link(token) is None
    assert sessions.of_cookie(started.cookie).subject == "olga"
    sessions.end(started.cookie)
    assert sessions.of_cookie(started.cookie) is None


def test_behind_the_authenticating_proxy_the_forwarded_bearer_jwt_signs_in(page_service, page_home):
    tokens = Tokens(page_home)
    with httpx.Client(base_url=page_service.url) as proxy:
        page = proxy.get("/billing/t/acme", headers=tokens.user("acme-billing_contact"))
        assert page.status_code == 200 and "Usage metering" in page.text
        assert "billing_session" in page.cookies  # a session bound to the token's subject, for the CSRF token
        assert proxy.get("/billing/t/beta", headers=tokens.user("acme-billing_contact")).status_code == 404
        forged = proxy.get("/billing/t/acme", headers={"Authorization": "Bearer not.a.jwt"})
        assert forged.status_code == 401 and "acme Inc" not in forged.text


def test_login_link_command_prints_a_link_for_directory_users_only(page_home, page_service):
    environment = service_environment(page_home)
    printed = subprocess.run([BILLING, "login-link", "--user", "acme-tenant_admin", "--base-url", page_service.url],
                             capture_output=True, text=True, env=environment, check=True).stdout.strip()
    assert printed.startswith(f"{page_service.url}/billing/login?token=")
    assert httpx.get(printed).status_code == 303
    unknown = subprocess.run([BILLING, "login-link", "--user", "nobody"], capture_output=True, text=True, env=environment)
    assert unknown.returncode != 0 and unknown.stderr.strip().splitlines() == ["billing: error: no user 'nobody' in the tenant directory"]


def test_vendored_scripts_match_their_recorded_sums():
    for folder, name in ((HERE.parent / "billing" / "service" / "static", "htmx.min.js"), (HERE / "vendor", "axe.min.js")):
        recorded = (folder / "VENDORED.md").read_text()
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() in recorded


def axe_scan(page, axe: str) -> None:
    """axe-core on the whole page: no serious or critical violation."""
    page.add_script_tag(content=axe)
    # Stripe's card field is Stripe's own (localstripe's test double has bare inputs): not ours to scan.
    found = page.evaluate("""async () => (await axe.run({exclude: [['#card-element']]},
                             {resultTypes: ['violations']})).violations""")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found
           if v["impact"] in ("serious", "critical")]
    assert bad == [], json.dumps(bad, indent=1)


@pytest.mark.parametrize("role, user, admin, tenant", [
    ("tenant_admin", "acme-tenant_admin", None, "acme"), ("billing_contact", "beta-billing_contact", None, "beta"),
    ("platform_admin", None, "olga", "big")])
def test_every_section_passes_axe_and_is_photographed_per_role(sign_in, page_service, role, user, admin, tenant):
    ARTIFACTS.mkdir(exist_ok=True)
    axe = AXE.read_text()
    for width in WIDTHS:
        page = sign_in(user, admin, width, bypass_csp=True)
        if admin:
            axe_scan(page, axe)
            page.screenshot(path=ARTIFACTS / f"{role}-overview-{width}.png", full_page=True)
            page.goto(f"{page_service.url}/billing/t/{tenant}")
        axe_scan(page, axe)
        for section in SECTIONS:
            page.locator(f"#{section}").screenshot(path=ARTIFACTS / f"{role}-{section}-{width}.png")
        page.screenshot(path=ARTIFACTS / f"{role}-page-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling of the page


def test_a_broken_amount_is_a_clear_message_not_a_traceback(sign_in):
    page = sign_in("acme-tenant_admin")
    page.evaluate("document.querySelector('#alerts input[name=amount_usd]').removeAttribute('min')")
    page.fill('#alerts input[name="amount_usd"]', "-5")
    page.click('#alerts button:text("Add budget")')
    assert page.locator("h1").inner_text() == "Not done"
    assert "amount_usd" in page.locator(".message").inner_text() and "Traceback" not in page.content()



def test_a_malformed_id_in_a_page_address_is_not_found_before_anything_is_looked_up(sign_in, page_service):
    """Path ids follow the API's one identifier rule (billing/service/params.py, billing/identifiers.py)."""
    page = sign_in(admin="olga")  # a platform admin may see any tenant: only the id's form refuses these
    for path, bad in (("/t/-acme", "tenant_id"), ("/t/ac%20me", "tenant_id"), (f"/t/{'a' * 129}", "tenant_id"),
                      ("/t/acme%00/usage.csv", "tenant_id"), ("/t/acme/invoices/INV%3B1", "invoice_id"),
                      ("/t/acme/invoices/INV%20000001/pdf", "invoice_id"),
                      ("/t/acme/invoices/INV-000001/lines/first", "position"),
                      ("/t/acme/invoices/INV-000001/lines/1001", "position")):
        response = page.goto(f"{page_service.url}/billing{path}")
        assert response.status == 404 and page.locator("h1").inner_text() == "Not found", path
        assert page.locator(".message p").first.inner_text() == f"There is no such page: the {bad} in its address is malformed."
    page.goto(f"{page_service.url}/billing/t/acme")
    token = page.locator('header input[name="csrf_token"]').get_attribute("value")
    for path, bad in (("/t/acme/budgets/-1/delete", "budget_id"), ("/t/acme/notifications/n%20x/read", "notification_id"),
                      ("/requests/r1/cancel", "decision"), ("/requests/r%2B1/approve", "request_id")):
        response = page.context.request.post(f"{page_service.url}/billing{path}", form={"csrf_token": token},
                                             max_redirects=0)
        assert response.status == 404 and f"the {bad} in its address is malformed" in response.text(), path
        assert "Traceback" not in response.text()

def test_the_demo_ends_with_how_to_start_the_page_and_working_sign_in_links(page_home, page_service):
    from billing.ledger import Ledger
    from billing.service.page_session import demo_sign_in
    from billing.settings import Settings

    settings = Settings.from_env({"BILLING_HOME": str(page_home), "BILLING_NOW": NOW})
    shown = demo_sign_in(Ledger(settings.ledger_url), settings, page_service.url)
    assert "billing serve" in shown["billing_page"] and f"{page_service.url}/billing" in shown["billing_page"]
    assert shown["sign_in_tenant_admin"].startswith("acme-tenant_admin of acme: ")
    assert shown["sign_in_billing_contact"].startswith("acme-billing_contact of acme: ")
    for key in ("sign_in_tenant_admin", "sign_in_billing_contact", "sign_in_platform_admin"):
        signed_in = httpx.get(shown[key].rsplit(" ", 1)[-1], follow_redirects=True)
        assert signed_in.status_code == 200 and "Billing" in signed_in.text
