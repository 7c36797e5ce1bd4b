"""Ingestion of usage snapshots: validation into quarantine, dedup, late events, formats, reruns."""
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billing.settings import BillingError
from tests.conftest import event


def statuses(metering):
    return metering.query("SELECT event_id, status, reason FROM events ORDER BY event_id, status")


@pytest.mark.parametrize("row, reason", [
    (event("", "2026-10-01T10:00:00Z"), "missing event_id"),
    (event("e1", "2026-10-01 10:00:00"), "bad timestamp"),  # no UTC offset
    (event("e1", "yesterday"), "bad timestamp"),
    (event("e1", "2026-10-32T10:00:00Z"), "bad timestamp"),
    (event("e1", "2026-10-01T10:00:00+25:00"), "bad timestamp"),  # no such offset
    (event("e1", "2026-10-01"), "bad timestamp"),  # no time of day, so no offset
    (event("e1", "2026-10-01T10:00:00Z", tenant_id="ghost"), "unknown tenant"),
    (event("e1", "2026-10-01T10:00:00Z", tenant_id=""), "unknown tenant"),
    (event("e1", "2026-10-01T10:00:00Z", service="billing"), "unknown service"),
    (event("e1", "2026-10-01T10:00:00Z", metric="gpu_seconds"), "unknown metric"),
    (event("e1", "2026-10-01T10:00:00Z", metric="compute_minutes", service="ml_service"), "unknown workload"),
    (event("e1", "2026-10-01T10:00:00Z", metric="compute_minutes", service="ml_service", workload="inference"), "unknown workload"),
    (event("e1", "2026-10-01T10:00:00Z", metric="llm_tokens", workload="training"), "unknown workload"),
    (event("e1", "2026-10-01T10:00:00Z", quantity="-1"), "negative quantity"),
    (event("e1", "2026-10-01T10:00:00Z", quantity="12 tokens"), "non-numeric quantity"),
    (event("e1", "2026-10-01T10:00:00Z", quantity=""), "non-numeric quantity"),
    (event("e1", "2026-10-01T10:00:00Z", quantity="NaN"), "non-numeric quantity"),
])
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_each_broken_rule_is_quarantined_with_its_reason_and_never_billed(metering, row, reason, fmt):
    metering.write("2026-10-01", [event("ok", "2026-10-01T09:00:00Z", quantity="5"), row], fmt)
    result = metering.ingest("2026-10-01")
    assert (result.rows_read, result.accepted, result.quarantined) == (2, 1, 1)
    assert result.quarantine_reasons == {reason: 1}
    quarantined = metering.query("SELECT source_file, source_row, reason FROM quarantine")
    assert quarantined == [(f"part-0000.{fmt}", 2, reason)]
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(5)


def test_raw_values_that_could_not_be_parsed_are_kept_in_quarantine(metering):
    metering.write("2026-10-01", [event("e1", "not-a-time", tenant_id="ghost", service="billing", metric="gpu_seconds",
                                        workload="inference", quantity="12 tokens")], "jsonl")
    metering.ingest("2026-10-01")
    assert metering.query("SELECT occurred_at, tenant_id, service, metric, workload, quantity, reason FROM quarantine") == [
        ("not-a-time", "ghost", "billing", "gpu_seconds", "inference", "12 tokens", "bad timestamp")]


def test_a_duplicate_counts_once_across_days_and_formats(metering):
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z", quantity="100")], "parquet")
    metering.write("2026-10-02", [event("e1", "2026-10-01T10:00:00+00:00", quantity="100.0"),
                                  event("e2", "2026-10-02T10:00:00Z", quantity="7")], "jsonl")
    metering.write("2026-10-02", [event("e2", "2026-10-02T10:00:00Z", quantity="7")], "csv", "part-0001")
    first, second = metering.ingest("2026-10-01", "2026-10-02")
    assert (first.accepted, second.accepted, second.duplicates) == (1, 1, 2)
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(107)


def test_the_same_event_id_with_other_content_is_quarantined_and_the_first_stays_billed(metering):
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z", quantity="100"),
                                  event("e2", "2026-10-01T10:00:00Z", quantity="1"),
                                  event("e2", "2026-10-01T10:00:00Z", quantity="2")])
    metering.write("2026-10-02", [event("e1", "2026-10-01T10:00:00Z", quantity="999")])
    metering.ingest("2026-10-01", "2026-10-02")
    assert statuses(metering) == [
        ("e1", "accepted", None), ("e1", "quarantined", "event_id seen before with different content"),
        ("e2", "accepted", None), ("e2", "quarantined", "event_id seen before with different content")]
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(101)


def test_a_late_event_counts_for_the_day_and_month_it_occurred(metering):
    metering.write("2026-10-31", [event("e1", "2026-10-31T12:00:00Z", quantity="10")])
    metering.write("2026-11-01", [event("late", "2026-10-31T23:59:59Z", quantity="5"),
                                  event("nov", "2026-11-01T00:00:00Z", quantity="1")])
    metering.ingest("2026-10-31", "2026-11-01")
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(15)
    assert metering.usage("acme", "2026-11")["llm_tokens"]["used"] == Decimal(1)


def test_an_offset_near_midnight_is_normalised_to_utc(metering):
    # 00:30 at +01:00 is 23:30 UTC the day before: September, not October.
    metering.write("2026-10-01", [event("e1", "2026-10-01T00:30:00+01:00", quantity="3"),
                                  event("e2", "2026-09-30T23:30:00-01:00", quantity="4")])
    metering.ingest("2026-10-01")
    assert metering.query("SELECT event_id, usage_day::VARCHAR FROM usage_events ORDER BY 1") == [
        ("e1", "2026-09-30"), ("e2", "2026-10-01")]
    assert metering.usage("acme", "2026-09")["llm_tokens"]["used"] == Decimal(3)
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(4)


def test_offsets_are_read_in_every_form_that_rfc_3339_and_iso_8601_allow(metering):
    metering.write("2026-10-01", [event("e1", "2026-10-01t00:30:00z"), event("e2", "2026-10-01T00:30+0100"),
                                  event("e3", "2026-10-01T00:30:00.250-01")])
    metering.ingest("2026-10-01")
    assert metering.query("SELECT event_id, usage_day::VARCHAR FROM usage_events ORDER BY 1") == [
        ("e1", "2026-10-01"), ("e2", "2026-09-30"), ("e3", "2026-10-01")]


def test_storage_is_the_largest_daily_peak_not_a_sum(metering):
    readings = [("2026-10-01T01:00:00Z", "40"), ("2026-10-01T13:00:00Z", "60.25"), ("2026-10-02T01:00:00Z", "55"),
                ("2026-10-02T09:00:00+02:00", "100.5"), ("2026-10-03T01:00:00Z", "70")]
    metering.write("2026-10-01", [event(f"s{i}", at, metric="storage_gb", quantity=q, user_id=None)
                                  for i, (at, q) in enumerate(readings)])
    metering.ingest("2026-10-01")
    from billing.aggregate import compute_daily_usage, compute_storage_peaks
    from billing.warehouse import Warehouse

    con = Warehouse(metering.settings.warehouse_dir).connect()
    compute_daily_usage(con, "2026-10")
    compute_storage_peaks(con)
    assert con.sql("SELECT usage_day::VARCHAR, peak_gb FROM month_storage_peaks ORDER BY 1").fetchall() == [
        ("2026-10-01", Decimal("60.25")), ("2026-10-02", Decimal("100.5")), ("2026-10-03", Decimal("70"))]
    usage = metering.usage("acme", "2026-10")
    assert usage["storage_gb"] == {"used": Decimal("100.5"), "limit": Decimal(100), "percentage": 100.5}


def test_typed_parquet_timestamps_and_numbers_are_read(metering):
    folder = metering.root / "dt=2026-10-01"
    folder.mkdir(parents=True)
    import datetime as dt

    stamps = [dt.datetime(2026, 10, 1, 10), dt.datetime(2026, 10, 1, 11)]
    pq.write_table(pa.table({
        "event_id": ["naive", "float"], "occurred_at": pa.array(stamps, pa.timestamp("us")),
        "tenant_id": ["acme", "acme"], "service": ["ai_service", "ai_service"], "metric": ["llm_tokens", "llm_tokens"],
        "quantity": pa.array([1.5, 2.25], pa.float64()),
    }), folder / "part-0000.parquet")
    pq.write_table(pa.table({
        "event_id": ["tz"], "occurred_at": pa.array([dt.datetime(2026, 10, 1, 23, 30)], pa.timestamp("ms", tz="+02:00")),
        "tenant_id": ["acme"], "user_id": [None], "service": ["ai_service"], "metric": ["llm_tokens"], "workload": [None],
        "quantity": pa.array([Decimal("3.125")], pa.decimal128(10, 3)),
    }), folder / "part-0001.parquet")
    result = metering.ingest("2026-10-01")
    assert (result.accepted, result.quarantined) == (3, 0)
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal("6.875")


def test_rerunning_a_day_gives_identical_results(metering):
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z"), event("e1", "2026-10-01T10:00:00Z"),
                                  event("bad", "nope")])
    metering.write("2026-10-02", [event("e1", "2026-10-01T10:00:00Z"), event("e2", "2026-10-02T10:00:00Z")])
    metering.ingest("2026-10-01", "2026-10-02")
    before = metering.query("SELECT * EXCLUDE (source_row) FROM events ORDER BY ALL")
    metering.ingest("2026-10-02", "2026-10-01", "2026-10-01")
    assert metering.query("SELECT * EXCLUDE (source_row) FROM events ORDER BY ALL") == before
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(200)


def test_a_day_without_folder_keeps_what_it_has_and_unchanged_days_can_be_skipped(metering):
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z")])
    metering.ingest("2026-10-01")
    assert metering.ingest("2026-10-01", force=False).skipped == "unchanged"
    import shutil

    shutil.rmtree(metering.root / "dt=2026-10-01")
    assert metering.ingest("2026-10-01").skipped == "no folder"
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(100)


def test_a_tenant_added_later_makes_its_quarantined_events_billable_on_reingest(metering):
    from tests.conftest import tenant

    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z", tenant_id="newco")])
    assert metering.ingest("2026-10-01").quarantine_reasons == {"unknown tenant": 1}
    metering.import_tenants(tenant("acme"), tenant("newco"))
    result = metering.ingest("2026-10-01", force=False)  # the directory changed, so the day is not skipped
    assert (result.skipped, result.accepted) == (None, 1)


@pytest.mark.parametrize("name, content, message", [
    ("part-0000.parquet", b"not parquet at all", "unreadable snapshot file .*part-0000.parquet"),
    ("part-0000.xlsx", b"", "unsupported snapshot file .*part-0000.xlsx"),
    ("part-0000.csv", b"event_id,tenant_id\ne1,acme\n", "has no column occurred_at, service, metric, quantity"),
    ("part-0000.jsonl", b"{not json\n", "unreadable snapshot file .*part-0000.jsonl"),
])
def test_an_unreadable_file_fails_the_day_with_one_line_and_writes_nothing(metering, name, content, message):
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z")])
    metering.ingest("2026-10-01")
    (metering.root / "dt=2026-10-01" / name).write_bytes(content)
    with pytest.raises(BillingError, match=message) as error:
        metering.ingest("2026-10-01")
    assert "\n" not in str(error.value)
    assert metering.query("SELECT count(*) FROM usage_events") == [(1,)]
    day = metering.settings.warehouse_dir / "events" / "2026-10-01"
    assert [v.name for v in (day.parent.parent / ".versions" / "events").iterdir()] == [day.resolve().name]


def test_a_bad_file_in_days_ingested_together_writes_none_of_them(metering):
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z", quantity="1")])
    metering.write("2026-10-02", [event("e2", "2026-10-02T10:00:00Z", quantity="2")])
    metering.ingest(["2026-10-01", "2026-10-02"])
    metering.write("2026-10-01", [event("e3", "2026-10-01T11:00:00Z", quantity="10")], name="part-0001")
    (metering.root / "dt=2026-10-02" / "part-0001.jsonl").write_bytes(b"{not json\n")
    with pytest.raises(BillingError, match="unreadable snapshot file .*dt=2026-10-02/part-0001.jsonl"):
        metering.ingest(["2026-10-01", "2026-10-02"])
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(3)


def test_parquet_files_read_together_keep_their_day_file_and_row(metering):
    metering.write("2026-10-01", [event("a", "2026-10-01T10:00:00Z"), event("b", "2026-10-01T11:00:00Z")], "parquet")
    metering.write("2026-10-01", [event("c", "2026-10-01T12:00:00Z")], "parquet", "part-0001")
    metering.write("2026-10-02", [event("d", "2026-10-02T10:00:00Z")], "parquet")
    metering.ingest(["2026-10-01", "2026-10-02"])
    assert metering.query("SELECT arrival_day::VARCHAR, source_file, source_row, event_id FROM events ORDER BY ALL") == [
        ("2026-10-01", "part-0000.parquet", 1, "a"), ("2026-10-01", "part-0000.parquet", 2, "b"),
        ("2026-10-01", "part-0001.parquet", 1, "c"), ("2026-10-02", "part-0000.parquet", 1, "d")]


def test_a_file_name_is_kept_as_it_is(metering):
    metering.write("2026-10-01", [event("a", "2026-10-01T10:00:00Z")], "csv", "drop \\ 2026.10.01 (2)")
    metering.ingest("2026-10-01")
    assert metering.query("SELECT source_file FROM events") == [("drop \\ 2026.10.01 (2).csv",)]


def test_a_damaged_parquet_file_read_with_others_is_named(metering):
    """Parquet files of one layout are read in one scan; DuckDB's error names no file, the message does."""
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z")], "parquet")
    path = metering.write("2026-10-02", [event(f"e{n}", "2026-10-02T10:00:00Z") for n in range(2, 50)], "parquet")
    damaged = bytearray(path.read_bytes())
    damaged[4:400] = b"\xab" * 396  # the first column's pages; the footer is intact
    path.write_bytes(bytes(damaged))
    with pytest.raises(BillingError, match="unreadable snapshot file .*dt=2026-10-02/part-0000.parquet") as error:
        metering.ingest(["2026-10-01", "2026-10-02"])
    assert "\n" not in str(error.value)
    assert metering.query("SELECT count(*) FROM events") == [(0,)]


def test_in_days_ingested_together_the_earliest_arrival_is_billed(metering):
    """A day ingested alone defers to what other days accepted; days ingested together go by arrival day."""
    metering.write("2026-10-02", [event("e1", "2026-10-01T10:00:00Z", quantity="2")])
    metering.ingest("2026-10-02")
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z", quantity="1")])  # a drop into an older folder
    metering.ingest("2026-10-01")
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(2)
    metering.ingest(["2026-10-01", "2026-10-02"])
    assert metering.query("SELECT arrival_day::VARCHAR, status, reason FROM events ORDER BY ALL") == [
        ("2026-10-01", "accepted", None), ("2026-10-02", "quarantined", "event_id seen before with different content")]
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(1)


def test_empty_text_drops_and_crlf_csv_with_a_bom_are_read(metering):
    folder = metering.root / "dt=2026-10-01"
    folder.mkdir(parents=True)
    (folder / "part-0000.csv").write_bytes(b"")
    (folder / "part-0001.jsonl").write_bytes(b"")
    (folder / "part-0002.csv").write_bytes(
        b"\xef\xbb\xbfevent_id,occurred_at,tenant_id,user_id,service,metric,workload,quantity\r\n"
        b'"e1","2026-10-01T10:00:00Z","acme","","ai_service","llm_tokens","","7"\r\n')
    result = metering.ingest("2026-10-01")
    assert (result.files, result.accepted) == (3, 1)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_columns_beyond_the_contract_are_ignored(metering, fmt):
    """Even those named like what the readers add (filename, source_row)."""
    row = {**event("e1", "2026-10-01T10:00:00Z"), "filename": "export.csv", "source_row": "7", "note": "x"}
    folder = metering.root / "dt=2026-10-01"
    folder.mkdir(parents=True)
    if fmt == "csv":
        (folder / "part-0000.csv").write_text(",".join(row) + "\n" + ",".join("" if v is None else str(v) for v in row.values()) + "\n")
    elif fmt == "jsonl":
        (folder / "part-0000.jsonl").write_text(json.dumps(row) + "\n")
    else:
        pq.write_table(pa.table({k: pa.array([None if v is None else str(v)], pa.string()) for k, v in row.items()}),
                       folder / "part-0000.parquet")
    assert metering.ingest("2026-10-01").accepted == 1
    assert metering.query("SELECT source_file, source_row FROM events") == [(f"part-0000.{fmt}", 1)]


def test_marker_and_hidden_files_are_not_data(metering):
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z")])
    (metering.root / "dt=2026-10-01" / "_SUCCESS").write_text("")
    (metering.root / "dt=2026-10-01" / ".DS_Store").write_bytes(b"\0")
    assert metering.ingest("2026-10-01").files == 1


def test_a_missing_snapshot_root_is_an_error(metering):
    from billing.snapshots import SnapshotRoot

    with pytest.raises(BillingError, match="snapshot root /nowhere does not exist"):
        SnapshotRoot("/nowhere").days()


def test_snapshots_are_read_from_s3(s3, billing_home, tmp_path):
    from tests.conftest import Metering, tenant, write_snapshot

    s3.create_bucket(Bucket="usage")
    local = tmp_path / "staging"
    for day, fmt in (("2026-10-01", "parquet"), ("2026-10-02", "csv"), ("2026-10-02", "jsonl")):
        path = write_snapshot(local, day, [event(f"e-{day}-{fmt}", f"{day}T10:00:00Z")], fmt)
        s3.upload_file(str(path), "usage", f"prefix/dt={day}/{path.name}")
    metering = Metering(billing_home, "s3://usage/prefix")
    metering.import_tenants(tenant("acme"))
    from billing.snapshots import SnapshotRoot

    root = SnapshotRoot("s3://usage/prefix", metering.settings.aws_endpoint_url)
    assert [d.isoformat() for d in root.days()] == ["2026-10-01", "2026-10-02"]
    results = metering.ingest("2026-10-01", "2026-10-02")
    assert [r.accepted for r in results] == [1, 2]
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(300)


def test_batches_and_single_days_give_the_same_partitions(billing_home, tmp_path):
    """A close ingests many days in one pass; the daily schedule one day at a time. Same outcome."""
    from tests.conftest import Metering, tenant

    def scenario(home, batched):
        m = Metering(home)
        m.import_tenants(tenant("acme"))
        m.write("2026-10-01", [event("a", "2026-10-01T10:00:00Z", quantity="1"), event("b", "2026-10-01T10:00:00Z")])
        m.write("2026-10-02", [event("a", "2026-10-01T10:00:00Z", quantity="1"), event("b", "2026-10-01T10:00:00Z", quantity="2"),
                               event("c", "2026-10-02T10:00:00Z"), event("bad", "x")], "jsonl")
        m.write("2026-10-03", [event("c", "2026-10-02T10:00:00Z"), event("c", "2026-10-02T10:00:00Z", quantity="3")], "parquet")
        days = ["2026-10-01", "2026-10-02", "2026-10-03"]
        m.ingest(days) if batched else m.ingest(*days)
        return m.query("SELECT * FROM events ORDER BY ALL"), m.query("SELECT * FROM arrival_usage ORDER BY ALL"), \
            m.usage("acme", "2026-10")

    one_by_one = scenario(billing_home, batched=False)
    batched = scenario(tmp_path / "other", batched=True)
    assert batched == one_by_one
    assert one_by_one[2]["llm_tokens"]["used"] == Decimal(201)
