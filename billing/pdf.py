"""Invoice PDFs: a Jinja2 template rendered by WeasyPrint, fetching nothing but the bundled stylesheet."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse, path2url

from billing.directory import Tenant, last_day, month_days
from billing.invoices import Invoice
from billing.metering import billable_quantities
from billing.price_book import LIMITED_METRICS, PriceBook
from billing.settings import Seller
from billing.text import display_text

TEMPLATES = Path(__file__).with_name("templates")
BASE_URL = path2url(str(TEMPLATES) + "/")  # as WeasyPrint writes it, so that URLs compare as strings
STYLESHEET = "invoice.css"
QUANTITY_PLACES = Decimal("0.000001")
WIDE = Context(prec=60, rounding=ROUND_HALF_UP)  # rounds any quantity to 6 decimals, however many digits it has before the point
USAGE_LABELS = {"llm_tokens": "LLM tokens", "sql_queries": "SQL queries", "storage_gb": "Storage (GB, monthly peak)",
                "users": "Users (seats)", "api_requests": "API requests", "compute_hours": "Compute (hours)"}


@dataclass(frozen=True)
class UsageLine:
    metric: str
    used: Decimal
    included: Decimal | None  # None: unlimited
    billed: Decimal  # the overage amount on the invoice


@dataclass(frozen=True)
class UsageSummary:
    plan: str  # in effect on the month's last day, whose included amounts apply
    lines: tuple[UsageLine, ...]


def usage_summary(invoice: Invoice, tenant: Tenant, totals: dict[str, Decimal], book: PriceBook) -> UsageSummary:
    """The month's usage of every limited metric against the plan, and the overage the invoice bills for it."""
    plan_name = tenant.plan_on(last_day(invoice.period))
    plan = book.plan(plan_name)
    quantities = billable_quantities(totals, tenant.seats(invoice.period))
    billed: dict[str, Decimal] = {}
    for line in invoice.lines:
        billed[line.metric] = billed.get(line.metric, Decimal("0.00")) + line.amount
    return UsageSummary(plan_name, tuple(
        UsageLine(metric, quantities[metric], plan.included[metric], billed.get(metric, Decimal("0.00")))
        for metric in LIMITED_METRICS))


@cache
def _bundled() -> dict[str, bytes]:
    """The files the renderer may fetch, by exact URL, read once. Fonts are none of them: Pango finds the
    system's DejaVu through fontconfig, without a URL."""
    return {BASE_URL + STYLESHEET: (TEMPLATES / STYLESHEET).read_bytes()}


class BundledAssetsOnly(URLFetcher):
    """Serves the bundled stylesheet from memory and refuses every other URL (file:, http:, data:, encoded
    paths ...), so that text in an invoice can never make the renderer read a file or call a server. URLs are
    compared as strings, never decoded into a path: `..%2F` is just another unknown name."""

    def __init__(self):
        super().__init__(allowed_protocols=())
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        body = _bundled().get(url)
        if body is None:
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url}")
        return URLFetcherResponse(url, body, {"Content-Type": "text/css; charset=utf-8"})


def _usd(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _quantity(value: Decimal) -> str:
    """At most 6 decimals (a minute is 0.016667 hours); the amounts are computed from the exact quantity."""
    shown = value.quantize(QUANTITY_PLACES, context=WIDE) if value.as_tuple().exponent < -6 else value
    return f"{shown.normalize(WIDE):,f}"


def _unit_price(value: Decimal) -> str:
    """Cents for prices in cents ($99.00), every digit for fractions of a cent ($0.000015)."""
    return _usd(value) if value == value.quantize(Decimal("0.01")) else f"${value.normalize():f}"


def _percent(value: Decimal) -> str:
    return f"{(value * 100).normalize():f} %"


def _included(value: Decimal | None) -> str:
    return "unlimited" if value is None else _quantity(value)


def _usage_line(line: UsageLine) -> str:
    return (f"{USAGE_LABELS[line.metric]}: {_quantity(line.used)} used, {_included(line.included)} included, "
            f"{_usd(line.billed)} billed as overage")


def _lines(values) -> Markup:
    """Values on lines of their own (in a `white-space: pre-line` block), each escaped and shown as one line."""
    return Markup("\n").join(display_text(value) for value in values)


def _shown(value):
    """Every value the template shows, tenant text included, goes through display_text (see billing/text.py);
    Markup is only what `lines` made of values it passed through it."""
    return display_text(value) if isinstance(value, str) and not isinstance(value, Markup) else value


_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), finalize=_shown)
_environment.filters.update(usd=_usd, quantity=_quantity, unit_price=_unit_price, percent=_percent, lines=_lines,
                            usage_line=_usage_line)


def invoice_html(invoice: Invoice, tenant: Tenant, usage: UsageSummary, seller: Seller) -> str:
    days = month_days(invoice.period)
    return _environment.get_template("invoice.html").render(
        invoice=invoice, tenant=tenant, usage=usage, seller=seller, period_start=days[0], period_end=days[-1])


@cache
def _style() -> tuple[CSS, FontConfiguration]:
    """The stylesheet and the fonts, set up once per process: doing it again for every invoice cost a
    fifth of its render (Pango's font map also keeps what it shaped for the next invoice)."""
    fonts = FontConfiguration()
    return CSS(url=BASE_URL + STYLESHEET, url_fetcher=BundledAssetsOnly(), font_config=fonts), fonts


def render_invoice(invoice: Invoice, tenant: Tenant, usage: UsageSummary, seller: Seller,
                   fetcher: BundledAssetsOnly | None = None) -> bytes:
    html = HTML(string=invoice_html(invoice, tenant, usage, seller), base_url=BASE_URL,
                url_fetcher=fetcher or BundledAssetsOnly())
    stylesheet, fonts = _style()
    return html.write_pdf(stylesheets=[stylesheet], font_config=fonts)


def render_document(template: str, stylesheet: str, **context) -> bytes:
    """Another bundled template (the finance close summary), with the same autoescaping and fetcher as invoices."""
    fetcher = BundledAssetsOnly()
    html = HTML(string=_environment.get_template(template).render(**context), base_url=str(TEMPLATES) + "/",
                url_fetcher=fetcher)
    return html.write_pdf(stylesheets=[CSS(filename=str(TEMPLATES / stylesheet), url_fetcher=fetcher)])
