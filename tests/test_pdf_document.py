"""What an invoice PDF says and how it is laid out: seller and buyer, service period, usage, payment; amounts up
to $999,999,999,999.99; tenant text that cannot mislead; a fetcher that serves the stylesheet and nothing else."""
import re
import subprocess
from dataclasses import replace
from decimal import Decimal as D

import pytest
from weasyprint import HTML

from billing.directory import Tenant
from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing.pdf import BASE_URL, STYLESHEET, BundledAssetsOnly
from billing.pricing import InvoiceLine
from billing.settings import Seller
from billing_jobs.runner import close_month
from tests.conftest import Metering, event, tenant
from tests.test_pdf import ACME, invoice, pdf_text, render

A4_WIDTH, MARGIN = 595.28, 16 / 25.4 * 72  # points; the page's left and right margin (16mm)


def words(pdf: bytes) -> list[tuple[str, float, float, float, float]]:
    """Every word pdftotext finds, with its box (xMin, yMin, xMax, yMax) in points."""
    html = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return [(text, float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1, text in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]


def assert_laid_out_on_the_page(pdf: bytes) -> None:
    """No word crosses the page's margins, and no two words overlap."""
    found = words(pdf)
    for text, x0, _, x1, _ in found:
        assert MARGIN - 1 <= x0 and x1 <= A4_WIDTH - MARGIN + 1, f"{text!r} runs off the page ({x0:.0f}-{x1:.0f})"
    for index, (text, x0, y0, x1, y1) in enumerate(found):
        for other, ox0, oy0, ox1, oy1 in found[index + 1:]:
            overlap = min(x1, ox1) - max(x0, ox0) > 0.5 and min(y1, oy1) - max(y0, oy0) > 0.5
            assert not overlap, f"{text!r} and {other!r} run into each other"


BILLION_LINES = (InvoiceLine("Enterprise plan, 31/31 of the month", "base", D(1), D("925925925925.92"), D("925925925925.92")),
                 InvoiceLine("storage_gb overage", "storage_gb", D("9999999999.9"), D("0.10"), D("999999999.99")))
BIG = Tenant("big", "Initech Global Holdings GmbH", "DE", "enterprise", contract_monthly_fee=D("925925925925.92"),
             payment_method_type="wire", tax_id="DE123456789")
BIG_USAGE = {"llm_tokens": D("66666666666666666"), "storage_gb": D("10000001023.9"), "compute_minutes": D(60_000_000_001)}


def billion_invoice():
    return replace(invoice(payment="wire", lines=BILLION_LINES), subtotal=D("926925925925.91"), tax_rate=D("0.07"),
                   tax=D("64884814814.81"), total=D("999999999999.99"))


def test_amounts_up_to_999_billion_fit_their_columns():
    pdf = render(billion_invoice(), BIG, totals=BIG_USAGE)
    assert_laid_out_on_the_page(pdf)
    shown = {text for text, *_ in words(pdf)}
    assert {"$925,925,925,925.92", "$999,999,999.99", "$926,925,925,925.91", "$64,884,814,814.81",
            "$999,999,999,999.99", "9,999,999,999.9", "66,666,666,666,666,666"} <= shown


def test_the_pdf_names_seller_and_buyer_period_and_usage_but_no_status():
    seller = Seller.from_env({"BILLING_SELLER_NAME": "Northwind Data Ltd", "BILLING_SELLER_TAX_ID": "GB 123 4567 89",
                              "BILLING_SELLER_ADDRESS": "1 Harbour Road; Leeds LS1 4AP; United Kingdom"})
    text = pdf_text(render(invoice(), replace(ACME, tax_id="US-EIN 12-3456789"), seller))
    flat = " ".join(text.split())
    for expected in ("Northwind Data Ltd", "1 Harbour Road", "Leeds LS1 4AP", "Tax ID: GB 123 4567 89",
                     "Acme Corp", "Tenant ID: acme", "Country: US", "Tax ID: US-EIN 12-3456789",
                     "Service period: 2026-10-01 to 2026-10-31", "Usage from 2026-10-01 to 2026-10-31, Starter plan",
                     # the month's usage, the plan's included amount and the overage the invoice bills
                     "LLM tokens: 750,000 used, 500,000 included, $3.75 billed as overage",
                     "SQL queries: 1,234 used, 10,000 included, $0.00 billed as overage",
                     "Compute (hours): 1.5 used, 10 included, $0.00 billed as overage",
                     "Users (seats): 0 used, 5 included"):
        assert expected in flat, expected
    assert "pending" not in flat.lower() and "status" not in flat.lower()


def test_a_buyer_without_a_tax_id_shows_none():
    text = pdf_text(render(invoice(), ACME))
    assert text.count("Tax ID") == 1  # the seller's


@pytest.mark.parametrize("payment", ["invoice", "wire"])
def test_transfers_show_the_bank_details_and_the_reference_to_quote(payment):
    seller = Seller.from_env({"BILLING_BANK_DETAILS": "Bank: Northwind Bank; IBAN: GB33BUKB20201555555555; BIC: BUKBGB22"})
    flat = " ".join(pdf_text(render(invoice(payment=payment), seller=seller)).split())
    for expected in ("Bank: Northwind Bank", "IBAN: GB33BUKB20201555555555", "BIC: BUKBGB22",
                     "quoting the reference INV-000042", "$36.13 by 2026-12-01"):
        assert expected in flat, expected


@pytest.mark.parametrize("payment", ["card", "ach"])
def test_charged_invoices_show_no_bank_details(payment):
    flat = " ".join(pdf_text(render(invoice(payment=payment))).split())
    assert "charged" in flat or "debited" in flat
    assert "Account number" not in flat and "reference" not in flat


def test_a_draft_pdf_is_replaced_when_the_invoice_becomes_final(billing_home, monkeypatch):
    monkeypatch.setenv("BILLING_NOW", "2026-11-02T00:00:00Z")  # October is a draft until 11-03
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme", plan="starter"))
    metering.write("2026-10-15", [event("q1", "2026-10-15T10:00:00Z", "acme", "llm_tokens", "750000")])
    close_month(metering.settings, "2026-10")
    book = InvoiceBook(Ledger(metering.settings.ledger_url))
    [draft] = book.of_period("2026-10")
    assert draft.state == "draft" and "DRAFT" in pdf_text((billing_home / "objects" / draft.pdf_key).read_bytes())
    monkeypatch.setenv("BILLING_NOW", "2026-11-29T12:00:00Z")
    close_month(metering.settings, "2026-10")
    [final] = book.of_period("2026-10")
    text = pdf_text((billing_home / "objects" / final.pdf_key).read_bytes())
    assert final.state == "final" and "DRAFT" not in text and "LLM tokens: 750,000 used" in text


@pytest.mark.parametrize("url", [
    BASE_URL + "..%2Fpdf.py",  # decoded, it is billing/pdf.py: the old allowlist checked the encoded path
    BASE_URL + "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    BASE_URL + "%2E%2E/pdf.py",
    BASE_URL + "invoice%2Ecss",  # the stylesheet under another spelling is refused too: names match exactly
    BASE_URL + STYLESHEET + "?x=1",
    "file:///etc/passwd",
    "http://127.0.0.1:9/x.css",
    "data:text/css,body{color:red}",
])
def test_the_fetcher_refuses_every_url_but_the_bundled_stylesheet(url):
    fetcher = BundledAssetsOnly()
    with pytest.raises(ValueError, match="refused"):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_the_stylesheet_is_served_from_memory_and_encoded_traversal_fetches_nothing(tmp_path):
    served = BundledAssetsOnly().fetch(BASE_URL + STYLESHEET)
    assert served.read().startswith(b"@page")
    fetcher = BundledAssetsOnly()
    html = (f'<link rel="stylesheet" href="..%2Fpdf.py"><img src="..%2F..%2F..%2Fetc%2Fpasswd">'
            f'<img src="data:image/png;base64,iVBORw0KGgo="><link rel="stylesheet" href="{STYLESHEET}">')
    HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()
    assert sorted(fetcher.refused) == sorted([BASE_URL + "..%2Fpdf.py", BASE_URL + "..%2F..%2F..%2Fetc%2Fpasswd",
                                              "data:image/png;base64,iVBORw0KGgo="])


def test_bidirectional_controls_in_a_name_cannot_reverse_it():
    spoofed = replace(ACME, name="Acme \u202elive\u202c Corp \u2067x\u2069", tax_id="\u202e987")
    flat = " ".join(pdf_text(render(invoice(), spoofed)).split())
    assert "Acme live Corp x" in flat and "evil" not in flat and "Tax ID: 987" in flat


def test_a_long_word_in_a_name_wraps_within_the_page():
    long_name = replace(ACME, name="W" * 200, tax_id="T" * 50)
    assert_laid_out_on_the_page(render(invoice(), long_name))
