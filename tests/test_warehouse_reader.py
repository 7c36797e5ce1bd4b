"""WarehouseReader: sessions and copies of stored months kept for many reads, never stale: what the close writes
after they were made is read, and a closed month is read as the close stored it (billing/warehouse_reader.py)."""
from decimal import Decimal as D

from billing import warehouse_reader
from billing.aggregate import compute_daily_usage, compute_monthly_usage, monthly_totals, usage_rows, write_daily_usage
from billing.warehouse import Warehouse
from billing.warehouse_reader import WarehouseReader
from tests.conftest import event


def store_month(metering, period: str) -> None:
    """The close's aggregation of a month: its daily_usage and monthly_usage partitions (assets/aggregate.py)."""
    warehouse = Warehouse(metering.settings.warehouse_dir)
    con = warehouse.connect()
    write_daily_usage(con, warehouse, period)
    compute_monthly_usage(con)
    warehouse.write_partition(con, "monthly_usage", period, {"rows": con.table("month_usage")})


def tokens(reader: WarehouseReader, period: str, tenant_id: str = "acme") -> D:
    return reader.totals(period, tenant_id).get("llm_tokens", D(0))


def test_a_session_made_before_the_first_partition_reads_the_partitions_written_since(metering):
    reader = WarehouseReader(metering.settings)
    assert tokens(reader, "2026-11") == 0  # the session's views read the empty templates
    metering.write("2026-11-02", [event("e1", "2026-11-02T10:00:00Z", quantity="500")])
    metering.ingest("2026-11-02")
    assert tokens(reader, "2026-11") == 500
    metering.write("2026-11-03", [event("e2", "2026-11-03T10:00:00Z", quantity="700")])
    metering.ingest("2026-11-03")
    assert tokens(reader, "2026-11") == 1200  # the same session: its views find the new partition's files


def test_a_closed_month_is_read_as_the_close_stored_it_and_again_when_the_close_replaces_it(metering):
    metering.write("2026-10-15", [event("e1", "2026-10-15T10:00:00Z", quantity="1000"),
                                  event("e2", "2026-10-15T11:00:00Z", metric="sql_queries", quantity="30",
                                        user_id="acme-u2"),
                                  event("s1", "2026-10-15T12:00:00Z", "acme", "storage_gb", "40.5", user_id=None),
                                  event("s2", "2026-10-16T12:00:00Z", "acme", "storage_gb", "12", user_id=None)])
    metering.ingest("2026-10-15")
    store_month(metering, "2026-10")
    reader = WarehouseReader(metering.settings)
    totals, rows = reader.usage("2026-10", "acme")
    assert totals == {"llm_tokens": 1000, "sql_queries": 30, "storage_gb": D("40.5")}
    assert [(row.metric, row.user_id, row.quantity) for row in rows] == [
        ("llm_tokens", "acme-u1", 1000), ("sql_queries", "acme-u2", 30), ("storage_gb", None, D("40.5"))]
    with reader.session() as con:  # what the ingested usage gives, row for row
        compute_daily_usage(con, "2026-10", "acme")
        compute_monthly_usage(con)
        assert (monthly_totals(con)["acme"], usage_rows(con)["acme"]) == (totals, rows)
    # An October event arrives after the close: not in what October was billed on, until the close runs again
    metering.write("2026-11-02", [event("late", "2026-10-31T23:00:00Z", quantity="50")])
    metering.ingest("2026-11-02")
    assert tokens(reader, "2026-10") == 1000
    store_month(metering, "2026-10")
    assert tokens(reader, "2026-10") == 1050


def test_the_open_month_is_read_from_the_ingested_usage_even_when_it_was_aggregated(metering):
    metering.write("2026-11-02", [event("e1", "2026-11-02T10:00:00Z", quantity="500")])
    metering.ingest("2026-11-02")
    store_month(metering, "2026-11")  # e.g. an operator materialized the month early
    metering.write("2026-11-03", [event("e2", "2026-11-03T10:00:00Z", quantity="700")])
    metering.ingest("2026-11-03")
    assert tokens(WarehouseReader(metering.settings), "2026-11") == 1200


def test_the_copy_loaded_longest_ago_is_dropped_and_read_again_when_asked_for(metering, monkeypatch):
    monkeypatch.setattr(warehouse_reader, "STORED_MONTHS", 2)
    for month, quantity in (("2026-07", "7"), ("2026-08", "8"), ("2026-09", "9")):
        metering.write(f"{month}-10", [event(f"e{month}", f"{month}-10T10:00:00Z", quantity=quantity)])
        metering.ingest(f"{month}-10")
        store_month(metering, month)
    reader = WarehouseReader(metering.settings)
    assert [tokens(reader, month) for month in ("2026-07", "2026-08", "2026-09")] == [7, 8, 9]
    assert list(reader._copies) == ["2026-08", "2026-09"]
    assert tokens(reader, "2026-07") == 7 and list(reader._copies) == ["2026-09", "2026-07"]

