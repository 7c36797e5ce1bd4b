"""Rating by hand-computed cases (contract sections 3 and 5)."""
from datetime import date
from decimal import Decimal as D

import pytest

from billing.directory import Tenant, User
from billing.price_book import load_price_book
from billing.pricing import rate
from billing.settings import Settings


@pytest.fixture(scope="module")
def book():
    return load_price_book(Settings.from_env({}).price_book)


def users(n):
    return tuple(User(f"u{i}", f"U{i}", f"u{i}@x.io", "member") for i in range(n))


def test_worked_example(book):
    demo = Tenant("demo-pro", "Demo", "US", "starter", plan_changes=((date(2026, 11, 10), "professional"),),
                  tax_rate=D("0.08"), users=users(26))
    totals = {"llm_tokens": D(5_250_000), "sql_queries": D(100_250), "storage_gb": D("100.5"),
              "api_requests": D(1_000_000), "compute_minutes": D(6030)}
    rating = rate(demo, "2026-11", totals, book)
    assert [(line.metric, line.amount) for line in rating.lines] == [
        ("base", D("29.70")), ("base", D("349.30")), ("llm_tokens", D("3.75")), ("sql_queries", D("1.00")),
        ("storage_gb", D("0.10")), ("users", D("12.00")), ("compute_hours", D("0.25"))]
    assert (rating.subtotal, rating.tax, rating.total) == (D("396.10"), D("31.69"), D("427.79"))
    assert rating.lines[0].description == "Starter plan, 9/30 of the month"
    assert (rating.lines[0].quantity, rating.lines[0].unit_price) == (D("0.3"), D("99.00"))
    assert (rating.lines[2].quantity, rating.lines[2].unit_price) == (D(250_000), D("0.000015"))


def test_usage_at_the_limit_has_no_overage_line_and_a_full_month_one_base_line(book):
    pro = Tenant("p", "P", "US", "professional", users=users(25))
    rating = rate(pro, "2026-10", {"llm_tokens": D(5_000_000), "storage_gb": D(100)}, book)
    assert [(line.metric, line.quantity, line.amount) for line in rating.lines] == [("base", D(1), D("499.00"))]
    assert rating.total == D("499.00")


def test_enterprise_pays_its_contract_fee_prorated_and_storage_above_1_tb(book):
    big = Tenant("big", "Big", "DE", "professional", plan_changes=((date(2026, 10, 11), "enterprise"),),
                 contract_monthly_fee=D("6200.00"), tax_rate=D("0.19"), users=users(400))
    rating = rate(big, "2026-10", {"llm_tokens": D(10**10), "storage_gb": D("1100.25")}, book)
    # 10 days of Professional (499 x 10/31 = 160.967...), 21 of Enterprise (6200 x 21/31 = 4200); limits: Enterprise
    assert [(line.metric, line.amount) for line in rating.lines] == [
        ("base", D("160.97")), ("base", D("4200.00")), ("storage_gb", D("7.63"))]  # 76.25 GB x 0.10 = 7.625
    assert rating.subtotal == D("4368.60") and rating.tax == D("830.03")  # 830.034


def test_rounding_is_half_up_where_bankers_rounding_differs(book):
    starter = Tenant("s", "S", "US", "starter", tax_rate=D("0.05"))
    # 10,001 queries: 1 over at 0.005 = 0.005 -> 0.01 (half-even: 0.00)
    rating = rate(starter, "2026-10", {"sql_queries": D(10_001)}, book)
    assert rating.lines[-1].amount == D("0.01")
    # tax: 99.01 x 0.05 = 4.9505 -> 4.95; 99.10 x 0.05 = 4.955 -> 4.96 (half-even: 4.96 too); 99.30 x 0.05 = 4.965 -> 4.97
    rating = rate(starter, "2026-10", {"sql_queries": D(10_060)}, book)
    assert (rating.subtotal, rating.tax) == (D("99.30"), D("4.97"))


def test_compute_hours_are_minutes_over_60_unrounded(book):
    starter = Tenant("s", "S", "US", "starter")
    rating = rate(starter, "2026-10", {"compute_minutes": D(701)}, book)  # 11.6833... h: 1.6833 x 0.60 = 1.01
    [overage] = [line for line in rating.lines if line.metric == "compute_hours"]
    assert overage.amount == D("1.01")


def test_a_tenant_without_usage_still_pays_its_base_price(book):
    rating = rate(Tenant("s", "S", "US", "starter"), "2026-02", {}, book)
    assert [(line.description, line.amount) for line in rating.lines] == [("Starter plan, 28/28 of the month", D("99.00"))]
