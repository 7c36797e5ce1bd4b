"""Rating (contract section 3): invoice lines from a month's usage, in Decimal. Free of Dagster.

Base price: prorated by day across the plans in effect during the month (days on plan / days in month).
Overage: one line per metric above the included amount of the plan in effect on the month's last day.
Every line is rounded to the cent, half up; tax = subtotal x tax_rate rounded the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.directory import Tenant, last_day, month_days, plan_days
from billing.metering import billable_quantities
from billing.money import readable, round_half_up
from billing.price_book import LIMITED_METRICS, PriceBook

BASE = "base"
UNITS = {"llm_tokens": "tokens", "sql_queries": "queries", "storage_gb": "GB", "users": "users",
         "api_requests": "requests", "compute_hours": "hours"}
SHARE_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    metric: str  # "base" for the plan's base price, else the metric charged
    quantity: Decimal  # base: the share of the month on the plan; overage: units above the limit
    unit_price: Decimal  # base: the monthly price; overage: the price of one unit
    amount: Decimal  # rounded to the cent, half up


@dataclass(frozen=True)
class Rating:
    tenant_id: str
    period: str
    plan: str  # in effect on the month's last day
    lines: tuple[InvoiceLine, ...]
    quantities: dict[str, Decimal]  # billable quantity of every limited metric
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal


def _base_lines(tenant: Tenant, period: str, book: PriceBook) -> list[InvoiceLine]:
    days_in_month = len(month_days(period))
    lines = []
    for plan_name, days in plan_days(tenant, period):
        monthly = book.plan(plan_name).base_price
        if monthly is None:
            monthly = tenant.contract_monthly_fee
        share = Decimal(days) / Decimal(days_in_month)
        lines.append(InvoiceLine(
            description=f"{plan_name.title()} plan, {days}/{days_in_month} of the month",
            metric=BASE,
            quantity=share.quantize(SHARE_PLACES) if days != days_in_month else Decimal(1),
            unit_price=monthly,
            amount=round_half_up(monthly * days / days_in_month),
        ))
    return lines


def _overage_lines(quantities: dict[str, Decimal], plan_name: str, book: PriceBook) -> list[InvoiceLine]:
    plan = book.plan(plan_name)
    lines = []
    for metric in LIMITED_METRICS:
        included, price = plan.included[metric], plan.overage.get(metric)
        if included is None or price is None or quantities[metric] <= included:
            continue
        over = quantities[metric] - included
        unit_price = price.unit_price / price.per
        lines.append(InvoiceLine(
            description=f"{metric} overage: {readable(over)} {UNITS[metric]} above {readable(included)}"
                        f" at ${price.unit_price} per {readable(price.per)}",
            metric=metric,
            quantity=over,
            unit_price=unit_price,
            amount=round_half_up(over * unit_price),
        ))
    return lines


def rate(tenant: Tenant, period: str, totals: dict[str, Decimal], book: PriceBook) -> Rating:
    """The month's invoice lines and amounts for one tenant, from its monthly usage totals."""
    plan_name = tenant.plan_on(last_day(period))
    quantities = billable_quantities(totals, tenant.seats(period))
    lines = tuple(_base_lines(tenant, period, book) + _overage_lines(quantities, plan_name, book))
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    tax = round_half_up(subtotal * tenant.tax_rate)
    return Rating(tenant.tenant_id, period, plan_name, lines, quantities, subtotal, tenant.tax_rate, tax, subtotal + tax)
