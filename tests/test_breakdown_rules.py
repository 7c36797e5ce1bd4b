"""CostBreakdown rules by value: which figure each usage row is charged to, the null user entry, equal remainders."""
from decimal import Decimal as D

import pytest

from billing.breakdown import UsageRow, cost_breakdown
from billing.directory import Tenant, User
from billing.pricing import InvoiceLine, rate
from tests.test_breakdown import BOOK, check_sums

# Every (service, metric, workload) a snapshot row may carry -> the figure it is charged to (docs/cost-allocation.md).
FIGURE_OF = {
    ("ai_service", "llm_tokens", None): "ai_service.llm_cost",
    ("query_engine", "llm_tokens", None): "ai_service.llm_cost",
    ("ml_service", "llm_tokens", None): "ai_service.llm_cost",
    ("ai_service", "sql_queries", None): "query_engine.query_cost",
    ("query_engine", "sql_queries", None): "query_engine.query_cost",
    ("ml_service", "sql_queries", None): "query_engine.query_cost",
    ("ai_service", "storage_gb", None): "query_engine.storage_cost",
    ("query_engine", "storage_gb", None): "query_engine.storage_cost",
    ("ml_service", "storage_gb", None): "query_engine.storage_cost",
    ("ai_service", "api_requests", None): "ai_service.llm_cost",
    ("query_engine", "api_requests", None): "query_engine.query_cost",
    ("ml_service", "api_requests", None): "ml_service.serving_cost",
    ("ai_service", "compute_minutes", None): "ai_service.compute_cost",
    ("query_engine", "compute_minutes", None): "ai_service.compute_cost",
    ("ml_service", "compute_minutes", "training"): "ml_service.training_cost",
    ("ml_service", "compute_minutes", "serving"): "ml_service.serving_cost",
}
ONE_DOLLAR = (InvoiceLine("Fixed charge", "base", D(1), D("1.00"), D("1.00")),)


def figures(document) -> dict[str, D]:
    return {f"{service}.{figure}": amount for service, by_figure in document["by_service"].items()
            for figure, amount in by_figure.items()}


@pytest.mark.parametrize(("service", "metric", "workload"), sorted(FIGURE_OF, key=str))
def test_each_kind_of_usage_is_charged_to_its_figure(service, metric, workload):
    document = cost_breakdown(Tenant("t", "T", "US", "professional"), "2026-10", ONE_DOLLAR,
                              [UsageRow(service, metric, workload, "u-1", D(1000))], BOOK)
    charged = {name: amount for name, amount in figures(document).items() if amount}
    assert charged == {FIGURE_OF[(service, metric, workload)]: D("1.00")}


def test_the_no_user_entry_stays_when_its_share_rounds_to_zero():
    tenant = Tenant("t", "T", "US", "professional", users=(User("u-1", "Ada", "a@x.io", "member"),
                                                            User("u-2", "Bo", "b@x.io", "member")))
    usage = [UsageRow("ai_service", "llm_tokens", None, "u-1", D(4_000_000)),
             UsageRow("query_engine", "storage_gb", None, None, D("0.000000001"))]  # a share far below a cent
    rating = rate(tenant, "2026-10", {"llm_tokens": D(4_000_000), "storage_gb": D("0.000000001")}, BOOK)
    document = cost_breakdown(tenant, "2026-10", rating.lines, usage, BOOK)
    check_sums(document, D("499.00"))
    assert [(u["user_id"], u["name"], u["cost_usd"]) for u in document["by_user"]] == [
        ("u-1", "Ada", D("499.00")), (None, "System usage (no user)", D("0.00"))]


def test_equal_remainders_take_the_cents_left_in_figure_order():
    fee_of_four_cents = Tenant("t", "T", "US", "enterprise", contract_monthly_fee=D("0.04"))
    rating = rate(fee_of_four_cents, "2026-10", {}, BOOK)
    document = cost_breakdown(fee_of_four_cents, "2026-10", rating.lines, [], BOOK)  # no usage: six equal shares
    assert figures(document) == {
        "ai_service.llm_cost": D("0.01"), "ai_service.compute_cost": D("0.01"), "query_engine.query_cost": D("0.01"),
        "query_engine.storage_cost": D("0.01"), "ml_service.training_cost": D("0.00"), "ml_service.serving_cost": D("0.00")}


def test_equal_remainders_take_the_cents_left_in_user_order_the_no_user_entry_last():
    two_cents = Tenant("t", "T", "US", "enterprise", contract_monthly_fee=D("0.02"))
    usage = [UsageRow("ai_service", "llm_tokens", None, user_id, D(1000)) for user_id in ("b", None, "a")]
    document = cost_breakdown(two_cents, "2026-10", rate(two_cents, "2026-10", {}, BOOK).lines, usage, BOOK)
    assert [(u["user_id"], u["cost_usd"]) for u in document["by_user"]] == [("a", D("0.01")), ("b", D("0.01")),
                                                                             (None, D("0.00"))]
