"""Money at its edges: what a person reads in a description, exact JSON numbers, exact quantities from JSON Lines."""
import json
from datetime import datetime, timezone
from decimal import Decimal as D

from billing.directory import Tenant
from billing.documents import invoice_document
from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing.money import dumps, loads
from billing.pricing import rate
from billing.reports import read_report
from billing_jobs.runner import close_month
from tests.conftest import Metering, event, tenant
from tests.test_invoices import BOOK

HUGE = D("99999999999999.99")  # the largest amount below 10^14 in cents: a float holds only 15-17 digits


def test_overage_descriptions_say_per_1000_and_quantities_to_six_decimals():
    pro = Tenant("p", "P", "US", "professional")
    totals = {"llm_tokens": D(5_000_500), "api_requests": D(1_002_000), "compute_minutes": D(6001)}
    lines = {line.metric: line for line in rate(pro, "2026-10", totals, BOOK).lines}
    assert lines["llm_tokens"].description == \
        "llm_tokens overage: 500 tokens above 5,000,000 at $0.015 per 1,000"
    assert lines["api_requests"].description == \
        "api_requests overage: 2,000 requests above 1,000,000 at $0.40 per 1,000"
    # 6001 minutes = 100.01666... hours: the description rounds, the quantity and amount stay exact
    assert lines["compute_hours"].description == "compute_hours overage: 0.016667 hours above 100 at $0.50 per 1"
    assert lines["compute_hours"].quantity == D(6001) / 60 - 100
    assert lines["compute_hours"].amount == D("0.01")


def test_json_writes_decimals_as_exact_numbers_and_reads_them_back_exactly():
    document = {"total": HUGE, "credit": D("-2.00"), "quantity": D("1234567890.123456789"), "whole": D(7)}
    text = dumps(document)
    assert '"total": 99999999999999.99' in text and '"credit": -2.00' in text and '"whole": 7' in text
    assert loads(text) == document
    assert [type(value) for value in loads(text).values()] == [D, D, D, int]
    # everything else is written as json.dumps(indent=2) writes it; compact (the API's responses) as json.dumps does
    plain = {"text": "é\"\n", "none": None, "yes": True, "list": [1, 2.5, [], {}], None: {"nested": [{"a": 1}]}, 3: 0}
    assert dumps(plain) == json.dumps(plain, indent=2)
    assert dumps(plain, indent=None) == json.dumps(plain, separators=(",", ":"))
    assert dumps(document, indent=None) == '{"total":99999999999999.99,"credit":-2.00,"quantity":1234567890.123456789,"whole":7}'


def test_a_huge_invoice_closes_and_its_breakdown_and_adjustment_are_exact_json_numbers(billing_home):
    metering = Metering(billing_home)
    metering.import_tenants(tenant("huge", plan="enterprise", contract_monthly_fee=str(HUGE),
                                   payment_method={"type": "wire"}))
    metering.write("2026-10-15", [event("e1", "2026-10-15T10:00:00Z", "huge", "llm_tokens", "1000"),
                                  event("e2", "2026-10-15T10:00:00Z", "huge", "sql_queries", "3", user_id="u-2")])
    close_month(metering.settings, "2026-10")  # the breakdown check compares the written report to the cent
    [breakdown] = read_report(metering.settings.reports_dir, "2026-10", "cost_breakdowns")
    assert breakdown["total_usd"] == HUGE
    assert sum(breakdown["by_service"]["ai_service"].values()) + sum(breakdown["by_service"]["query_engine"].values()) \
        + sum(breakdown["by_service"]["ml_service"].values()) == HUGE

    book = InvoiceBook(Ledger(metering.settings.ledger_url))
    [october] = book.of_period("2026-10")
    corrected = Tenant("huge", "Huge", "US", "enterprise", contract_monthly_fee=HUGE - D(2))
    book.record(corrected, rate(corrected, "2026-10", {}, BOOK), datetime(2026, 11, 29, tzinfo=timezone.utc))
    text = dumps(invoice_document(book.get(october.invoice_id), None))
    assert '"amount": -2.00' in text and '"total": 99999999999999.99' in text
    assert loads(text)["adjustments"][0]["amount"] == D("-2.00")


def jsonl_with_number(row: dict, quantity: str, **extra) -> str:
    """A JSON Lines row whose quantity is the JSON number `quantity`, digits as written."""
    fields = {key: value for key, value in row.items() if key != "quantity"} | extra
    return json.dumps(fields)[:-1] + f', "quantity": {quantity}}}\n'


def test_json_lines_quantities_are_read_with_every_digit(metering):
    rows = [jsonl_with_number(event("e1", "2026-10-02T10:00:00Z"), "1234567890.123456789"),
            # a nested "quantity" is not the row's
            jsonl_with_number(event("e2", "2026-10-02T10:00:00Z"), "7.000000001", detail={"quantity": 5}),
            jsonl_with_number(event("e3", "2026-10-02T10:00:00Z"), "1.5e3")]
    (metering.root / "dt=2026-10-02").mkdir(parents=True)
    (metering.root / "dt=2026-10-02" / "part-0000.jsonl").write_text("".join(rows))
    # the same event in CSV, as text: the same content, so a duplicate and not a conflict
    metering.write("2026-10-03", [event("e1", "2026-10-02T10:00:00Z", quantity="1234567890.123456789")])
    first, second = metering.ingest("2026-10-02", "2026-10-03")
    assert (first.accepted, second.duplicates, second.quarantined) == (3, 1, 0)
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == D("1234569397.123456790")
