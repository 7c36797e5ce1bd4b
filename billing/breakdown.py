"""CostBreakdown (contract section 4): the invoice subtotal allocated to services and to users.

The rule (docs/cost-allocation.md):
1. An overage line is allocated to the usage of its metric, in proportion to quantity
   (compute_hours by compute minutes).
2. Fixed charges (base price, seats) are allocated in proportion to the list value of all usage:
   quantity x the reference plan's unit price of its metric. With no usage at all, the fixed charges
   are split evenly across the six service figures and go to the `user_id: null` entry.
3. Each allocation is exact in Decimal; the figures are then rounded to the cent by largest remainder (equal
   remainders in listing order: FIGURES, then users by id with the null entry last), so they add up to the
   subtotal to the cent and none is negative.
Free of Dagster.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from billing.directory import Tenant
from billing.money import CENT
from billing.price_book import PriceBook
from billing.pricing import InvoiceLine

FIGURES = (
    ("ai_service", "llm_cost"), ("ai_service", "compute_cost"),
    ("query_engine", "query_cost"), ("query_engine", "storage_cost"),
    ("ml_service", "training_cost"), ("ml_service", "serving_cost"),
)
# Invoice line metric -> the usage metric it charges for.
USAGE_OF_LINE = {"llm_tokens": "llm_tokens", "sql_queries": "sql_queries", "storage_gb": "storage_gb",
                 "api_requests": "api_requests", "compute_hours": "compute_minutes"}
# Usage metric -> the price book metric whose unit price values it (minutes are priced per hour).
PRICED_AS = {"llm_tokens": ("llm_tokens", 1), "sql_queries": ("sql_queries", 1), "storage_gb": ("storage_gb", 1),
             "api_requests": ("api_requests", 1), "compute_minutes": ("compute_hours", 60)}
API_FIGURE = {"ai_service": ("ai_service", "llm_cost"), "query_engine": ("query_engine", "query_cost"),
              "ml_service": ("ml_service", "serving_cost")}


@dataclass(frozen=True)
class UsageRow:
    service: str
    metric: str
    workload: str | None
    user_id: str | None
    quantity: Decimal


def figure_of(row: UsageRow) -> tuple[str, str]:
    """The by_service figure a usage row is charged to."""
    if row.metric == "compute_minutes":
        if row.service == "ml_service":
            return ("ml_service", f"{row.workload}_cost")
        return ("ai_service", "compute_cost")
    if row.metric == "api_requests":
        return API_FIGURE[row.service]
    return {"llm_tokens": FIGURES[0], "sql_queries": FIGURES[2], "storage_gb": FIGURES[3]}[row.metric]


def largest_remainder(exact: dict, total: Decimal) -> dict:
    """Round exact shares to cents that add up to `total`: floor each, then give the cents left to the
    largest remainders; equal remainders in the order of `exact` (the order the breakdown lists them)."""
    floors = {key: value.quantize(CENT, rounding=ROUND_FLOOR) for key, value in exact.items()}
    left = int((total - sum(floors.values(), Decimal(0))) / CENT)
    by_remainder = sorted(exact, key=lambda key: -(exact[key] - floors[key]))  # stable: ties keep their order
    for key in by_remainder[:left]:
        floors[key] += CENT
    return floors


def _allocate(lines: tuple[InvoiceLine, ...], rows: list[UsageRow], book: PriceBook, key_of, fallback: list) -> dict:
    """Exact (unrounded) share of the subtotal for each key of the usage rows."""
    reference = book.plan(book.allocation_reference_plan)
    list_value = {}
    for row in rows:
        metric, per_unit = PRICED_AS[row.metric]
        price = reference.overage.get(metric)
        list_value[row] = row.quantity * price.unit_price / price.per / per_unit if price else Decimal(0)
    shares: dict = {key: Decimal(0) for key in fallback}
    for line in lines:
        if line.metric in USAGE_OF_LINE:
            weights = {row: row.quantity for row in rows if row.metric == USAGE_OF_LINE[line.metric]}
        else:  # base price, seats and adjustments: fixed charges
            weights = list_value
        total_weight = sum(weights.values(), Decimal(0))
        if total_weight == 0:
            for key in fallback:
                shares[key] += line.amount / len(fallback)
            continue
        for row, weight in weights.items():
            key = key_of(row)
            shares[key] = shares.get(key, Decimal(0)) + line.amount * weight / total_weight
    return shares


def cost_breakdown(tenant: Tenant, period: str, lines: tuple[InvoiceLine, ...], rows: list[UsageRow],
                   book: PriceBook) -> dict:
    """The breakdown of an invoice's lines (its subtotal) over the usage rows of the month."""
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    services = largest_remainder(_allocate(lines, rows, book, figure_of, list(FIGURES)), subtotal)  # FIGURES order
    user_shares = _allocate(lines, rows, book, lambda row: row.user_id, [None])
    users = largest_remainder(dict(sorted(user_shares.items(), key=lambda item: _user_order(item[0]))), subtotal)
    names = {user.user_id: user.name for user in tenant.users}
    by_service: dict = {}
    for (service, figure) in FIGURES:
        by_service.setdefault(service, {})[figure] = services[(service, figure)]
    # The null entry stands for usage without a user (or no usage at all), whatever its share rounds to,
    # and for fixed charges that had no usage to follow (usage of quantity 0).
    without_user = not rows or any(row.user_id is None for row in rows)
    return {
        "period": period,
        "tenant_id": tenant.tenant_id,
        "total_usd": subtotal,
        "by_service": by_service,
        "by_user": [
            {"user_id": user_id, "name": names.get(user_id, user_id) if user_id else "System usage (no user)",
             "cost_usd": cost}
            for user_id, cost in users.items() if user_id is not None or without_user or cost
        ],
    }


def _user_order(user_id: str | None) -> tuple:
    """by_user order: user ids ascending (by code point), the null entry last."""
    return (user_id is None, user_id or "")
