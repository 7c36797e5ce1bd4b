"""Invoice PDFs: a Jinja2 template rendered by WeasyPrint, fetching nothing but the bundled stylesheet."""
from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from billing.directory import Tenant
from billing.invoices import Invoice

TEMPLATES = Path(__file__).with_name("templates")


class BundledAssetsOnly(URLFetcher):
    """Serves files of the templates folder and refuses every other URL (file:, http:, data: ...),
    so that text in an invoice can never make the renderer read a file or call a server."""

    def __init__(self):
        super().__init__(allowed_protocols=["file"])
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        path = Path(url.removeprefix("file://")).resolve() if url.startswith("file://") else None
        if path is None or path.parent != TEMPLATES.resolve():
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url}")
        return super().fetch(url, headers)


def _usd(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _unit_price(value: Decimal) -> str:
    """Cents for prices in cents ($99.00), every digit for fractions of a cent ($0.000015)."""
    return _usd(value) if value == value.quantize(Decimal("0.01")) else f"${value.normalize():f}"


def _percent(value: Decimal) -> str:
    return f"{(value * 100).normalize():f} %"


_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
_environment.filters.update(usd=_usd, quantity=_quantity, unit_price=_unit_price, percent=_percent)


def invoice_html(invoice: Invoice, tenant: Tenant) -> str:
    return _environment.get_template("invoice.html").render(invoice=invoice, tenant=tenant)


@cache
def _style() -> tuple[CSS, FontConfiguration]:
    """The stylesheet and the fonts, set up once per process: doing it again for every invoice cost a
    fifth of its render (Pango's font map also keeps what it shaped for the next invoice)."""
    fonts = FontConfiguration()
    return CSS(filename=str(TEMPLATES / "invoice.css"), url_fetcher=BundledAssetsOnly(), font_config=fonts), fonts


def render_invoice(invoice: Invoice, tenant: Tenant, fetcher: BundledAssetsOnly | None = None) -> bytes:
    html = HTML(string=invoice_html(invoice, tenant), base_url=str(TEMPLATES) + "/",
                url_fetcher=fetcher or BundledAssetsOnly())
    stylesheet, fonts = _style()
    return html.write_pdf(stylesheets=[stylesheet], font_config=fonts)


def render_document(template: str, stylesheet: str, **context) -> bytes:
    """Another bundled template (the finance close summary), with the same autoescaping and fetcher as invoices."""
    fetcher = BundledAssetsOnly()
    html = HTML(string=_environment.get_template(template).render(**context), base_url=str(TEMPLATES) + "/",
                url_fetcher=fetcher)
    return html.write_pdf(stylesheets=[CSS(filename=str(TEMPLATES / stylesheet), url_fetcher=fetcher)])
