"""Invoice PDFs rendered by WeasyPrint, read back with pdftotext; stored in a folder or S3 (moto)."""
import subprocess
import urllib.request
from datetime import date
from decimal import Decimal as D

import pytest
from weasyprint import HTML

from billing.directory import Tenant
from billing.invoices import Invoice
from billing.object_store import FolderStore, open_object_store, pdf_key
from billing.pdf import BASE_URL, BundledAssetsOnly, render_invoice, usage_summary
from billing.price_book import load_price_book
from billing.pricing import InvoiceLine
from billing.settings import Seller, Settings


def pdf_text(pdf: bytes, mode: str = "-layout") -> str:
    return subprocess.run(["pdftotext", mode, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def invoice(payment="card", state="final", lines=None) -> Invoice:
    lines = lines or (InvoiceLine("Starter plan, 9/30 of the month", "base", D("0.3"), D("99.00"), D("29.70")),
                      InvoiceLine("llm_tokens overage", "llm_tokens", D(250_000), D("0.000015"), D("3.75")))
    return Invoice("in_abc", "INV-000042", "acme", "2026-10", state, "pending", "USD", D("33.45"), D("0.08"),
                   D("2.68"), D("36.13"), payment, date(2026, 11, 1), date(2026, 12, 1), None, lines, ())


ACME = Tenant("acme", "Acme Corp", "US", "starter")
BOOK = load_price_book(Settings.from_env({}).price_book)
USAGE = {"llm_tokens": D(750_000), "sql_queries": D(1_234), "compute_minutes": D(90)}


def render(inv: Invoice, tenant: Tenant = ACME, seller: Seller = Seller(), totals=None, fetcher=None) -> bytes:
    return render_invoice(inv, tenant, usage_summary(inv, tenant, USAGE if totals is None else totals, BOOK), seller,
                          fetcher)


def test_the_pdf_has_everything_a_customer_needs():
    pdf = render(invoice(payment="invoice"))
    text = pdf_text(pdf) + " ".join(pdf_text(pdf, "-raw").split())  # -raw: a description that wraps in its column
    for expected in ("Invoice INV-000042", "in_abc", "Issue date: 2026-11-01", "Due date: 2026-12-01",
                     "Starter plan, 9/30 of the month", "$29.70", "$0.000015", "250,000", "$33.45", "Tax (8 %)",
                     "$2.68", "$36.13", "Net 30: please pay $36.13 by 2026-12-01", "Page 1 of 1"):
        assert expected in text, expected
    assert "DRAFT" not in text


@pytest.mark.parametrize("payment, instruction", [
    ("card", "$36.13 is charged to the card on file on 2026-11-01"),
    ("ach", "$36.13 is debited from the US bank account on file (ACH) on 2026-11-01"),
    ("wire", "Wire transfer: please send $36.13 by 2026-12-01"),
])
def test_payment_instructions_follow_the_method(payment, instruction):
    assert instruction in pdf_text(render(invoice(payment=payment)))


def test_drafts_say_so_and_long_invoices_number_their_pages():
    many = tuple(InvoiceLine(f"line {n}", "base", D(1), D(1), D(1)) for n in range(80))
    text = pdf_text(render(invoice(state="draft", lines=many)))
    assert "DRAFT" in text and "Page 1 of 3" in text and "Page 3 of 3" in text


def test_markup_in_a_tenant_name_renders_as_text_and_fetches_nothing():
    evil = Tenant("evil", '<img src="file:///etc/passwd"><link rel="stylesheet" href="http://127.0.0.1:9/x.css">',
                  "US", "starter")
    fetcher = BundledAssetsOnly()
    text = pdf_text(render(invoice(), evil, fetcher=fetcher), "-raw")
    squeezed = "".join(text.split())  # the name wraps in its column
    assert '<imgsrc="file:///etc/passwd">' in squeezed and "root:" not in text
    assert fetcher.refused == []  # escaped: the renderer never saw a URL


def test_the_fetcher_refuses_everything_but_the_bundled_stylesheet():
    fetcher = BundledAssetsOnly()
    html = ('<link rel="stylesheet" href="invoice.css"><img src="file:///etc/passwd">'
            '<img src="http://127.0.0.1:9/pixel.png"><link rel="stylesheet" href="../pdf.py">')
    HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()
    assert sorted(fetcher.refused) == sorted([
        "file:///etc/passwd", "http://127.0.0.1:9/pixel.png", BASE_URL.removesuffix("templates/") + "pdf.py"])


def test_folder_store_links_with_a_file_url(tmp_path):
    store = FolderStore(str(tmp_path / "objects"))
    key = pdf_key("2026-10", "in_abc")
    store.put(key, b"%PDF-1.7 test", "application/pdf")
    assert key == "invoices/2026-10/in_abc.pdf"
    assert urllib.request.urlopen(store.url(key)).read() == b"%PDF-1.7 test"


def test_s3_store_uploads_and_a_presigned_url_downloads(s3):
    s3.create_bucket(Bucket="billing-docs")
    store = open_object_store("s3://billing-docs/prod", s3.meta.endpoint_url, presign_seconds=600)
    pdf = render(invoice())
    store.put(pdf_key("2026-10", "in_abc"), pdf, "application/pdf")
    head = s3.head_object(Bucket="billing-docs", Key="prod/invoices/2026-10/in_abc.pdf")
    assert head["ContentType"] == "application/pdf"
    url = store.url(pdf_key("2026-10", "in_abc"))
    assert "X-Amz-Expires=600" in url
    assert urllib.request.urlopen(url).read() == pdf
