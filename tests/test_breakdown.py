"""CostBreakdown: the subtotal allocated to six service figures and to users, exactly to the cent."""
from decimal import Decimal as D

from hypothesis import given, settings, strategies as st

from billing.breakdown import FIGURES, UsageRow, cost_breakdown, largest_remainder
from billing.directory import Tenant, User
from billing.price_book import load_price_book
from billing.pricing import rate
from billing.settings import Settings
from tests.test_pricing import users

BOOK = load_price_book(Settings.from_env({}).price_book)
METRIC_ROWS = st.sampled_from([
    ("ai_service", "llm_tokens", None), ("query_engine", "sql_queries", None), ("query_engine", "storage_gb", None),
    ("ai_service", "api_requests", None), ("query_engine", "api_requests", None), ("ml_service", "api_requests", None),
    ("ai_service", "compute_minutes", None), ("ml_service", "compute_minutes", "training"),
    ("ml_service", "compute_minutes", "serving"),
])


def check_sums(document, subtotal):
    services = [v for figures in document["by_service"].values() for v in figures.values()]
    assert len(services) == 6
    assert document["total_usd"] == subtotal == sum(services) == sum(u["cost_usd"] for u in document["by_user"])
    assert all(v >= 0 and v == v.quantize(D("0.01")) for v in services)
    assert all(u["cost_usd"] >= 0 for u in document["by_user"])


@settings(max_examples=200, deadline=None)
@given(
    plan=st.sampled_from(["starter", "professional", "enterprise"]),
    rows=st.lists(st.tuples(METRIC_ROWS, st.sampled_from([None, "u0", "u1", "u2"]),
                            st.decimals(min_value=0, max_value=10**8, places=3, allow_nan=False)), max_size=12),
    seats=st.integers(min_value=0, max_value=40),
)
def test_breakdowns_always_add_up_and_are_never_negative(plan, rows, seats):
    tenant = Tenant("t", "T", "US", plan, contract_monthly_fee=D("1234.56") if plan == "enterprise" else None,
                    users=users(seats))
    usage = [UsageRow(service, metric, workload, user, quantity) for (service, metric, workload), user, quantity in rows]
    totals: dict = {}
    for row in usage:
        if row.metric == "storage_gb":
            totals["storage_gb"] = max(totals.get("storage_gb", D(0)), row.quantity)
        else:
            totals[row.metric] = totals.get(row.metric, D(0)) + row.quantity
    rating = rate(tenant, "2026-10", totals, BOOK)
    check_sums(cost_breakdown(tenant, "2026-10", rating.lines, usage, BOOK), rating.subtotal)


def test_worked_example_overages_go_to_the_usage_that_caused_them():
    tenant = Tenant("demo-pro", "Demo", "US", "professional", users=(User("u-1", "Ada", "a@x.io", "member"),))
    usage = [UsageRow("ai_service", "llm_tokens", None, "u-1", D(5_250_000)),
             UsageRow("query_engine", "storage_gb", None, None, D("100.5"))]
    rating = rate(tenant, "2026-11", {"llm_tokens": D(5_250_000), "storage_gb": D("100.5")}, BOOK)
    document = cost_breakdown(tenant, "2026-11", rating.lines, usage, BOOK)
    check_sums(document, D("502.85"))  # 499 + 3.75 + 0.10
    # Fixed 499 splits by list value: storage 100.5 x 0.20 = 20.10, tokens 5.25M x 0.000015 = 78.75
    assert document["by_service"]["query_engine"]["storage_cost"] == D("101.57")  # 0.10 + 499 x 20.10 / 98.85
    assert document["by_service"]["ai_service"]["llm_cost"] == D("401.28")  # 3.75 + 499 x 78.75 / 98.85
    assert document["by_user"] == [{"user_id": "u-1", "name": "Ada", "cost_usd": D("401.28")},
                                   {"user_id": None, "name": "System usage (no user)", "cost_usd": D("101.57")}]


def test_without_usage_fixed_charges_split_evenly_and_go_to_the_null_user():
    tenant = Tenant("s", "S", "US", "starter")
    rating = rate(tenant, "2026-10", {}, BOOK)
    document = cost_breakdown(tenant, "2026-10", rating.lines, [], BOOK)
    figures = [v for f in document["by_service"].values() for v in f.values()]
    assert sorted(figures) == [D("16.50")] * 6
    assert document["by_user"] == [{"user_id": None, "name": "System usage (no user)", "cost_usd": D("99.00")}]


def test_largest_remainder_gives_leftover_cents_to_the_largest_fractions():
    shares = {"a": D(1) / 3, "b": D(1) / 3, "c": D(1) / 3}
    assert largest_remainder(shares, D("1.00")) == {"a": D("0.34"), "b": D("0.33"), "c": D("0.33")}
    assert largest_remainder({"x": D("0.006"), "y": D("0.004")}, D("0.01")) == {"x": D("0.01"), "y": D("0.00")}
    assert len(FIGURES) == 6
