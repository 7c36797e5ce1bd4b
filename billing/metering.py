"""UsageMetrics (contract section 4): usage against the limits of the plan in effect on the month's last day."""
from __future__ import annotations

from decimal import Decimal

from billing.directory import Tenant, last_day
from billing.money import round_half_up
from billing.price_book import PriceBook

# UsageMetrics field -> price book metric. The seed's four first; compute_hours and users are our additions.
USAGE_FIELDS = {
    "llm_tokens": "llm_tokens",
    "queries": "sql_queries",
    "storage_gb": "storage_gb",
    "api_requests": "api_requests",
    "compute_hours": "compute_hours",
    "users": "users",
}
MINUTES_PER_HOUR = Decimal(60)


def billable_quantities(totals: dict[str, Decimal], seats: int) -> dict[str, Decimal]:
    """The month's quantity of every limited metric, from monthly totals of snapshot metrics."""
    zero = Decimal(0)
    return {
        "llm_tokens": totals.get("llm_tokens", zero),
        "sql_queries": totals.get("sql_queries", zero),
        "storage_gb": totals.get("storage_gb", zero),
        "api_requests": totals.get("api_requests", zero),
        # Billed in hours: minutes / 60, not rounded before pricing.
        "compute_hours": totals.get("compute_minutes", zero) / MINUTES_PER_HOUR,
        "users": Decimal(seats),
    }


def usage_metrics(tenant: Tenant, period: str, totals: dict[str, Decimal], price_book: PriceBook,
                  month_to_date: bool = False) -> dict:
    plan_name = tenant.plan_on(last_day(period))
    plan = price_book.plan(plan_name)
    quantities = billable_quantities(totals, tenant.seats(period))
    document: dict = {"period": period, "tenant_id": tenant.tenant_id, "plan": plan_name, "month_to_date": month_to_date}
    for field, metric in USAGE_FIELDS.items():
        used = quantities[metric].normalize() if metric != "compute_hours" else round_half_up(quantities[metric])
        limit = plan.included[metric]
        percentage = None
        if limit:  # None: unlimited; 0 would make every use infinite
            # A JSON number like 105.0: its shortest float form is exactly the 2-decimal value.
            percentage = float(round_half_up(quantities[metric] / limit * 100))
        document[field] = {"used": used, "limit": limit, "percentage": percentage}
    return document
