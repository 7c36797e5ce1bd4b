"""Snapshot files from outside: read literally, every row accounted for, nothing under the root passed over in
silence, one fixed CSV dialect, ambiguous rows quarantined (issue 13, items 2 to 4)."""
import json
from decimal import Decimal

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billing.settings import BillingError
from tests.conftest import COLUMNS, Metering, event, tenant

GLOB_NAMES = ["part-1", "part-[1]", "part-*", "part-?", "part-[!a]", "part-**", "part-{1,2}"]


def rows_of(prefix: str, count: int) -> list[dict]:
    return [event(f"{prefix}-{n}", "2026-10-01T10:00:00Z", quantity="1") for n in range(count)]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_file_names_with_glob_characters_are_read_literally_once(metering, fmt):
    for index, name in enumerate(GLOB_NAMES):
        metering.write("2026-10-01", rows_of(f"f{index}", index + 1), fmt, name)
    result = metering.ingest("2026-10-01")
    expected = {f"{name}.{fmt}": index + 1 for index, name in enumerate(GLOB_NAMES)}
    assert result.file_rows == expected
    assert (result.rows_read, result.accepted, result.duplicates) == (sum(expected.values()),) * 2 + (0,)
    assert metering.query("SELECT source_file, count(*), max(source_row) FROM events GROUP BY 1 ORDER BY 1") == sorted(
        (name, rows, rows) for name, rows in expected.items())


def test_a_root_with_glob_characters_is_read_literally(billing_home):
    from tests.conftest import write_snapshot

    metering = Metering(billing_home, str(billing_home / "snap[1]*"))
    metering.import_tenants(tenant("acme"))
    for decoy in ("snap1", "snap[1]-old"):  # what the root's name matches as a pattern
        write_snapshot(billing_home / decoy, "2026-10-01", rows_of(decoy, 4), "parquet")
        write_snapshot(billing_home / decoy, "2026-10-01", rows_of(decoy, 4), "csv")
    metering.write("2026-10-01", rows_of("a", 2), "parquet")
    metering.write("2026-10-01", rows_of("b", 3), "csv")
    assert metering.ingest("2026-10-01").file_rows == {"part-0000.parquet": 2, "part-0000.csv": 3}


def test_file_names_with_glob_characters_are_read_literally_from_s3(s3, billing_home, tmp_path):
    from tests.conftest import write_snapshot

    s3.create_bucket(Bucket="usage")
    for index, name in enumerate(GLOB_NAMES[:4]):
        path = write_snapshot(tmp_path / "staging", "2026-10-01", rows_of(f"f{index}", index + 1), "jsonl", name)
        s3.upload_file(str(path), "usage", f"prefix/dt=2026-10-01/{path.name}")
    metering = Metering(billing_home, "s3://usage/prefix")
    metering.import_tenants(tenant("acme"))
    result = metering.ingest("2026-10-01")
    assert result.file_rows == {"part-1.jsonl": 1, "part-[1].jsonl": 2, "part-*.jsonl": 3, "part-?.jsonl": 4}


def test_rows_a_reader_brings_in_from_another_file_fail_the_day_and_write_nothing(metering, monkeypatch):
    """The safety net under the literal paths: each file's rows read once, numbered 1 to n, all written."""
    import billing.ingest

    metering.write("2026-10-01", rows_of("first", 1), "csv", "part-1")
    metering.ingest("2026-10-01")
    metering.write("2026-10-01", rows_of("other", 2), "csv", "part-[1]")
    monkeypatch.setattr(billing.ingest, "literal", lambda uri: uri)  # as DuckDB reads a path: a pattern
    with pytest.raises(BillingError, match=r"part-1\.csv.*2 rows were read, numbered 1 to 1; nothing was written"):
        metering.ingest("2026-10-01")
    assert metering.query("SELECT event_id FROM events") == [("first-0",)]


@pytest.mark.parametrize("name, warning", [
    ("dt=2026-09-31", "'dt=2026-09-31' is not a day folder dt=YYYY-MM-DD"),  # no such day
    ("dt=2026-10-6", "'dt=2026-10-6' is not a day folder"),
    ("DT=2026-10-06", "'DT=2026-10-06' is not a day folder"),
    ("dt=２０２６-10-06", "'dt=２０２６-10-06' is not a day folder"),  # full-width digits
    ("dt=2026-10-06\n", "'dt=2026-10-06\\n' is not a day folder"),  # a trailing newline
    ("dt=2026-10-06 ", "'dt=2026-10-06 ' is not a day folder"),
    ("2026-10-06", "'2026-10-06' is not a day folder"),
])
def test_a_folder_at_the_root_that_is_not_a_day_is_reported(metering, name, warning):
    from billing.snapshots import SnapshotRoot

    metering.write("2026-10-01", rows_of("a", 1))
    (metering.root / name).mkdir()
    (metering.root / name / "part-0000.csv").write_text("event_id\n")
    root = SnapshotRoot(str(metering.root))
    assert [d.isoformat() for d in root.days()] == ["2026-10-01"]
    assert root.strays() == [f"snapshot root: {warning}{' dt=YYYY-MM-DD' if 'YYYY' not in warning else ''}; "
                             "its files are not ingested"]


def test_a_file_at_the_root_is_reported_and_hidden_or_marker_entries_are_not_data(metering):
    from billing.snapshots import SnapshotRoot

    metering.write("2026-10-01", rows_of("a", 1))
    (metering.root / "part-0000.csv").write_text("event_id\n")
    for quiet in ("_SUCCESS", ".DS_Store"):
        (metering.root / quiet).write_text("")
    (metering.root / "_temporary").mkdir()
    assert SnapshotRoot(str(metering.root)).strays() == [
        "snapshot root: 'part-0000.csv' is not in a day folder dt=YYYY-MM-DD; not ingested"]


@pytest.mark.parametrize("make", ["folder", "broken link"])
def test_a_sub_folder_or_odd_entry_of_a_day_fails_the_day_naming_it(metering, make):
    metering.write("2026-10-01", rows_of("a", 1))
    metering.ingest("2026-10-01")
    folder = metering.root / "dt=2026-10-01"
    if make == "folder":
        (folder / "hour=23").mkdir()
        metering.write("2026-10-01", rows_of("late", 5), "csv", "hour=23/part-0000")
        what = "'hour=23' is a sub-folder"
    else:
        (folder / "part-0001.csv").symlink_to(folder / "nowhere.csv")
        what = "'part-0001.csv' is not a regular file"
    with pytest.raises(BillingError, match=f"snapshot folder .*dt=2026-10-01: {what}; a day's snapshot files lie"):
        metering.ingest("2026-10-01")
    assert metering.query("SELECT count(*) FROM events") == [(1,)]


def test_strays_are_warnings_in_the_asset_metadata_and_the_close(billing_home):
    from assets.ingest import usage_events
    from billing_jobs.runner import ingest, local_instance
    from resources import BillingStore

    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme"))
    metering.write("2026-10-01", rows_of("a", 1))
    metering.write("2026-10-6", rows_of("b", 1))
    expected = ["snapshot root: 'dt=2026-10-6' is not a day folder dt=YYYY-MM-DD; its files are not ingested"]
    with dg.instance_for_test() as instance:
        result = dg.materialize([usage_events], partition_key="2026-10-01", instance=instance,
                                resources={"billing": BillingStore(billing_home=str(billing_home))})
        [materialization] = result.asset_materializations_for_node("usage_events")
        assert materialization.metadata["warnings"].value == expected
    assert ingest(metering.settings, local_instance(metering.settings))["warnings"] == expected


@pytest.mark.parametrize("content, message", [
    (b'event_id,occurred_at,tenant_id,user_id,service,metric,workload,quantity\n'
     b'e1,2026-10-01T10:00:00Z,acme,"b-1,ai_service,llm_tokens,,5\n'
     b'e2,2026-10-01T10:00:00Z,acme,b-2,ai_service,llm_tokens,,6\n', "unreadable snapshot file .*part-0001.csv: .*comma-separated"),
    (b'event_id;occurred_at;tenant_id;user_id;service;metric;workload;quantity\n'
     b'e1;2026-10-01T10:00:00Z;acme;b-1;ai_service;llm_tokens;;5\n',
     "part-0001.csv has no column event_id, occurred_at, tenant_id, service, metric, quantity "
     r"\(its header is one column 'event_id;occurred_at;.*: CSV is read comma-separated"),
    (b'event_id,occurred_at,tenant_id,user_id,service,metric,workload,quantity\n'
     b'e1,2026-10-01T10:00:00Z,acme,b-1,ai_service,llm_tokens,,5,extra\n'
     b'e2,2026-10-01T10:00:00Z,acme,b-2,ai_service,llm_tokens,,6\n', "unreadable snapshot file .*part-0001.csv"),
    (b'event_id,occurred_at,tenant_id,user_id,service,metric,workload,quantity\n'
     b'e1,2026-10-01T10:00:00Z,acme,b-1,ai_service,llm_tokens,,5\n'
     b'e2,2026-10-01T10:00:00Z,acme\n', "unreadable snapshot file .*part-0001.csv"),
])
def test_a_csv_file_outside_the_dialect_fails_naming_it_and_nothing_is_written(metering, content, message):
    metering.write("2026-10-01", rows_of("a", 1))
    metering.ingest("2026-10-01")
    (metering.root / "dt=2026-10-01" / "part-0001.csv").write_bytes(content)
    with pytest.raises(BillingError, match=message) as error:
        metering.ingest("2026-10-01")
    assert "\n" not in str(error.value)
    assert metering.query("SELECT event_id FROM events") == [("a-0",)]


def test_quoted_fields_with_commas_quotes_and_line_breaks_are_read(metering):
    header = ",".join(COLUMNS)
    (metering.root / "dt=2026-10-01").mkdir(parents=True)
    (metering.root / "dt=2026-10-01" / "part-0000.csv").write_text(
        f'{header}\n"e,1",2026-10-01T10:00:00Z,acme,"ada ""the"" admin\nsecond line",ai_service,llm_tokens,,"5"\n')
    result = metering.ingest("2026-10-01")
    assert result.accepted == 1
    assert metering.query("SELECT event_id FROM events") == [("e,1",)]


def test_a_json_line_with_a_key_twice_is_quarantined(metering):
    ok = event("e0", "2026-10-01T10:00:00Z", quantity="1")
    twice = json.dumps(event("e1", "2026-10-01T10:00:00Z", quantity="1"))[:-1] + ', "quantity": "1000000"}'
    (metering.root / "dt=2026-10-01").mkdir(parents=True)
    (metering.root / "dt=2026-10-01" / "part-0000.jsonl").write_text(json.dumps(ok) + "\n" + twice + "\n")
    result = metering.ingest("2026-10-01")
    assert (result.accepted, result.quarantine_reasons) == (1, {"duplicate key in a JSON line": 1})
    assert metering.usage("acme", "2026-10")["llm_tokens"]["used"] == Decimal(1)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("field", ["event_id", "user_id"])
def test_a_nul_in_an_id_is_quarantined(metering, fmt, field):
    bad = event("e1", "2026-10-01T10:00:00Z", quantity="1")
    bad[field] = bad[field][:1] + "\0" + bad[field][1:]
    metering.write("2026-10-01", [event("e0", "2026-10-01T10:00:00Z", quantity="1"), bad], fmt)
    result = metering.ingest("2026-10-01")
    assert (result.accepted, result.quarantine_reasons) == (1, {"NUL character in an id": 1})


def test_reasons_are_counted_over_every_file_of_the_day(metering):
    for name in ("part-0000", "part-0001"):
        metering.write("2026-10-01", [event(f"{name}-x", "2026-10-01T10:00:00Z", tenant_id="ghost")], "csv", name)
    result = metering.ingest("2026-10-01")
    assert (result.quarantined, result.quarantine_reasons) == (2, {"unknown tenant": 2})
