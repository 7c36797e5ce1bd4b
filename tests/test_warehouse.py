import os

import duckdb
import pytest

from billing.warehouse import Warehouse


def rows(path):
    return duckdb.sql(f"SELECT * FROM '{path}' ORDER BY ALL").fetchall()


def test_a_partition_is_replaced_whole_and_its_old_version_removed(tmp_path):
    warehouse = Warehouse(tmp_path)
    con = warehouse.connect()
    warehouse.write_partition(con, "events", "2026-10-01", {"rows": con.sql("SELECT 1 AS a"), "usage": con.sql("SELECT 2 AS b")})
    first = (tmp_path / "events" / "2026-10-01").resolve()
    warehouse.write_partition(con, "events", "2026-10-01", {"rows": con.sql("SELECT 3 AS a"), "usage": con.sql("SELECT 4 AS b")})
    assert rows(warehouse.partition_file("events", "2026-10-01")) == [(3,)]
    assert rows(warehouse.partition_file("events", "2026-10-01", "usage")) == [(4,)]
    assert not first.exists()
    assert len(list((tmp_path / ".versions" / "events").iterdir())) == 1


def test_a_write_that_fails_leaves_the_partition_as_it_was(tmp_path):
    warehouse = Warehouse(tmp_path)
    con = warehouse.connect()
    warehouse.write_partition(con, "events", "2026-10-01", {"rows": con.sql("SELECT 1 AS a"), "usage": con.sql("SELECT 2 AS b")})
    failing = con.sql("SELECT CASE WHEN i < 100000 THEN i ELSE error('disk full') END AS b FROM range(200000) t(i)")
    with pytest.raises(duckdb.Error, match="disk full"):  # the first file is written, the second fails
        warehouse.write_partition(con, "events", "2026-10-01", {"rows": con.sql("SELECT 3 AS a"), "usage": failing})
    assert rows(warehouse.partition_file("events", "2026-10-01")) == [(1,)]
    assert rows(warehouse.partition_file("events", "2026-10-01", "usage")) == [(2,)]
    assert len(list((tmp_path / ".versions" / "events").iterdir())) == 1


def test_partitions_replaced_together_stay_as_they_were_when_one_fails(tmp_path):
    from billing.warehouse import write_file

    warehouse = Warehouse(tmp_path)
    con = warehouse.connect()
    for day in ("2026-10-01", "2026-10-02"):
        warehouse.write_partition(con, "events", day, {"rows": con.sql("SELECT 1 AS a")})
    with pytest.raises(duckdb.Error, match="disk full"):
        with warehouse.replacing("events", ["2026-10-01", "2026-10-02"]) as versions:
            write_file(con, con.sql("SELECT 2 AS a"), versions["2026-10-01"] / "rows.parquet")
            write_file(con, con.sql("SELECT error('disk full') AS a"), versions["2026-10-02"] / "rows.parquet")
    assert [rows(warehouse.partition_file("events", day)) for day in ("2026-10-01", "2026-10-02")] == [[(1,)], [(1,)]]
    assert len(list((tmp_path / ".versions" / "events").iterdir())) == 2


def test_what_an_interrupted_write_left_is_removed_by_the_next_write(tmp_path):
    warehouse = Warehouse(tmp_path)
    con = warehouse.connect()
    versions = tmp_path / ".versions" / "daily_usage"
    (versions / "2026-10.0abc").mkdir(parents=True)  # a version never linked
    os.symlink("../.versions/daily_usage/2026-10.0abc", versions / "2026-10.0abc.link")  # a link never switched
    warehouse.write_partition(con, "daily_usage", "2026-10", {"rows": con.sql("SELECT 1 AS a")})
    assert [v.name for v in versions.iterdir()] == [(tmp_path / "daily_usage" / "2026-10").resolve().name]
    assert rows(warehouse.partition_file("daily_usage", "2026-10")) == [(1,)]


def test_a_version_reaches_the_disk_before_its_link_does(tmp_path, monkeypatch):
    """A crash between the link switch and the kernel's own flush must not leave a link to unwritten files."""
    calls = []  # the real calls, in order
    fsync, replace = os.fsync, os.replace

    def recorded_fsync(fd):
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recorded_replace(src, dst):
        calls.append(("replace", str(dst)))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", recorded_fsync)
    monkeypatch.setattr(os, "replace", recorded_replace)
    warehouse = Warehouse(tmp_path)
    con = warehouse.connect()
    warehouse.write_partition(con, "events", "2026-10-01", {"rows": con.sql("SELECT 1 AS a"), "usage": con.sql("SELECT 2 AS b")})
    version = (tmp_path / "events" / "2026-10-01").resolve()
    link = calls.index(("replace", str(tmp_path / "events" / "2026-10-01")))
    flushed_before = {path for call, path in calls[:link] if call == "fsync"}
    assert flushed_before >= {str(version / "rows.parquet"), str(version / "usage.parquet"), str(version), str(version.parent)}
    assert ("fsync", str(tmp_path / "events")) in calls[link:]  # the switched link itself
