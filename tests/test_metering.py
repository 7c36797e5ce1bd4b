"""UsageMetrics (contract section 4) from snapshots through the warehouse."""
from decimal import Decimal

from billing.directory import Tenant, User
from billing.metering import usage_metrics
from billing.price_book import load_price_book
from billing.settings import Settings
from tests.conftest import event, tenant


def worked_example_rows():
    """Contract section 5: demo-pro's November 2026."""
    rows = [event("t1", "2026-11-03T10:00:00Z", "demo-pro", "llm_tokens", "5000000"),
            event("t2", "2026-11-20T10:00:00Z", "demo-pro", "llm_tokens", "250000"),
            event("q1", "2026-11-04T10:00:00Z", "demo-pro", "sql_queries", "100250"),
            event("a1", "2026-11-05T10:00:00Z", "demo-pro", "api_requests", "1000000"),
            event("c1", "2026-11-06T10:00:00Z", "demo-pro", "compute_minutes", "6000"),
            event("c2", "2026-11-06T11:00:00Z", "demo-pro", "compute_minutes", "30", service="ml_service", workload="training")]
    rows += [event(f"s{i}", f"2026-11-{d:02d}T0{i % 9}:00:00Z", "demo-pro", "storage_gb", q, user_id=None)
             for i, (d, q) in enumerate([(1, "90"), (1, "95.5"), (15, "100.5"), (15, "99"), (29, "80")])]
    return rows


def demo_pro():
    users = [{"user_id": f"u-{n}", "name": f"User {n}", "email": f"u{n}@demo.example", "role": "member"} for n in range(26)]
    return tenant("demo-pro", plan="starter", tax_rate=0.08, users=users,
                  plan_changes=[{"plan": "professional", "effective": "2026-11-10"}])


def test_worked_example_usage_metrics(billing_home):
    from tests.conftest import Metering

    metering = Metering(billing_home)
    metering.import_tenants(demo_pro())
    metering.write("2026-11-30", worked_example_rows(), "jsonl")
    metering.ingest("2026-11-30")
    usage = metering.usage("demo-pro", "2026-11")
    assert usage["period"] == "2026-11" and usage["plan"] == "professional"
    assert usage["llm_tokens"] == {"used": 5250000, "limit": 5000000, "percentage": 105.0}
    assert usage["queries"] == {"used": 100250, "limit": 100000, "percentage": 100.25}
    assert usage["storage_gb"] == {"used": Decimal("100.5"), "limit": 100, "percentage": 100.5}
    assert usage["api_requests"] == {"used": 1000000, "limit": 1000000, "percentage": 100.0}
    assert usage["compute_hours"] == {"used": Decimal("100.50"), "limit": 100, "percentage": 100.5}
    assert usage["users"] == {"used": 26, "limit": 25, "percentage": 104.0}


def test_unlimited_metrics_have_null_limit_and_percentage():
    book = load_price_book(Settings.from_env({}).price_book)
    big = Tenant("big", "Big", "US", "enterprise", contract_monthly_fee=Decimal(5000),
                 users=(User("u", "U", "u@x.io", "member"),))
    usage = usage_metrics(big, "2026-10", {"llm_tokens": Decimal(10**9), "storage_gb": Decimal(512)}, book)
    for field in ("llm_tokens", "queries", "api_requests", "compute_hours", "users"):
        assert usage[field]["limit"] is None and usage[field]["percentage"] is None
    assert usage["llm_tokens"]["used"] == 10**9
    assert usage["storage_gb"] == {"used": 512, "limit": 1024, "percentage": 50.0}


def test_percentage_rounds_half_up_to_two_decimals():
    book = load_price_book(Settings.from_env({}).price_book)
    starter = Tenant("s", "S", "US", "starter")
    # 10,000.5 / 10,000 x 100 = 100.005 -> 100.01 (banker's rounding would give 100.00)
    usage = usage_metrics(starter, "2026-10", {"sql_queries": Decimal("10000.5"), "llm_tokens": Decimal(1)}, book)
    assert usage["queries"]["percentage"] == 100.01
    assert usage["llm_tokens"]["percentage"] == 0.0  # 0.0002 %


def test_limits_are_the_plan_on_the_last_day_of_the_month():
    book = load_price_book(Settings.from_env({}).price_book)
    from datetime import date

    downgraded = Tenant("d", "D", "US", "professional", plan_changes=((date(2026, 10, 31), "starter"),))
    assert usage_metrics(downgraded, "2026-10", {}, book)["llm_tokens"]["limit"] == 500000
    assert usage_metrics(downgraded, "2026-09", {}, book)["llm_tokens"]["limit"] == 5000000


def test_live_totals_equal_the_closed_month_aggregates(billing_home):
    """Alerts and month-to-date usage read one aggregation; the close reads daily and monthly usage."""
    from billing.aggregate import compute_daily_usage, compute_monthly_usage, live_monthly_totals, monthly_totals
    from billing.warehouse import Warehouse
    from tests.conftest import Metering

    metering = Metering(billing_home)
    metering.import_tenants(demo_pro(), tenant("acme"))
    rows = worked_example_rows() + [event("late", "2026-10-31T23:59:59Z", "acme", "sql_queries", "7"),
                                    event("x1", "2026-11-02T10:00:00Z", "acme", "storage_gb", "3.25", user_id=None),
                                    event("x2", "2026-11-02T10:00:00Z", "acme", "llm_tokens", "12", user_id="acme-u1")]
    metering.write("2026-11-01", rows[::2], "jsonl")
    metering.write("2026-11-02", rows[1::2], "csv")
    metering.ingest("2026-11-01", "2026-11-02")
    con = Warehouse(metering.settings.warehouse_dir).connect()
    for period in ("2026-10", "2026-11"):
        compute_daily_usage(con, period)
        compute_monthly_usage(con)
        assert live_monthly_totals(con, period) == monthly_totals(con)
    assert live_monthly_totals(con, "2026-11")["demo-pro"]["storage_gb"] == Decimal("100.5")


def test_daily_usage_merges_late_and_early_events_with_their_day(billing_home):
    """Daily usage passes a day's own sums through and re-sums only keys that also arrived in another folder:
    it must equal a plain aggregation of every arrival day's sums."""
    from billing.aggregate import compute_daily_usage
    from billing.warehouse import Warehouse
    from tests.conftest import Metering

    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme"), tenant("beta"))
    metering.write("2026-10-01", [event("a1", "2026-10-01T10:00:00Z", quantity="1"),
                                  event("a2", "2026-10-01T11:00:00Z", metric="storage_gb", quantity="5", user_id=None),
                                  event("early", "2026-10-02T00:10:00+00:00", quantity="2"),
                                  event("b1", "2026-10-01T12:00:00Z", tenant_id="beta", quantity="3")])
    metering.write("2026-10-02", [event("a3", "2026-10-02T10:00:00Z", quantity="4"),
                                  event("late1", "2026-10-01T23:00:00Z", quantity="8"),
                                  event("late2", "2026-10-01T23:30:00Z", metric="storage_gb", quantity="9", user_id=None),
                                  event("late3", "2026-10-01T23:40:00Z", tenant_id="beta", metric="sql_queries",
                                        service="query_engine", quantity="6")])
    metering.write("2026-10-03", [event("late4", "2026-10-01T23:50:00Z", quantity="16")])
    metering.ingest("2026-10-01", "2026-10-02", "2026-10-03")
    con = Warehouse(metering.settings.warehouse_dir).connect()
    compute_daily_usage(con, "2026-10")
    plain = con.sql("""SELECT usage_day, tenant_id, service, metric, workload, user_id, sum(quantity), max(peak_reading),
                              sum(events) FROM arrival_usage GROUP BY ALL ORDER BY ALL""").fetchall()
    merged = con.sql("SELECT * EXCLUDE (period) FROM month_daily_usage ORDER BY ALL").fetchall()
    assert merged == plain
    acme_tokens = [(str(day), quantity, events) for day, tenant_id, _, metric, _, _, quantity, _, events in merged
                   if tenant_id == "acme" and metric == "llm_tokens"]
    assert acme_tokens == [("2026-10-01", 25, 3), ("2026-10-02", 6, 2)]
    acme_storage = [(peak, events) for _, tenant_id, _, metric, _, _, _, peak, events in merged
                    if tenant_id == "acme" and metric == "storage_gb"]
    assert acme_storage == [(9, 2)]
