"""Ingest arrival days of usage snapshots into the warehouse: validate, deduplicate, quarantine.

Free of Dagster: the asset in assets/ingest.py calls `ingest_days` for its partition range.
Days are ingested one after the other. A day's files are normalised and checked into the `staged`
table; the rows that may repeat an event (their key repeats in the day or was accepted on another
day) are picked out as `suspects`; then every row is classified (the view `classified`) and the day's
partition is written from it, replacing the old one atomically. Within a day, dedup follows file name and row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from billing.settings import BillingError
from billing.snapshots import SnapshotFile, SnapshotRoot, fingerprint
from billing.sql import query, statements
from billing.warehouse import Warehouse

# Bump when validation, dedup or the partition layout change, so that every day is ingested again.
RULES_VERSION = "5"
REQUIRED_COLUMNS = ("event_id", "occurred_at", "tenant_id", "service", "metric", "quantity")
OPTIONAL_COLUMNS = ("user_id", "workload")


@dataclass
class DayResult:
    day: date
    files: int = 0
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None  # why nothing was written, when nothing was


def _unreadable(item: SnapshotFile, error: Exception) -> BillingError:
    return BillingError(f"unreadable snapshot file {item.uri}: {str(error).splitlines()[0]}")


def _open_file(con: duckdb.DuckDBPyConnection, item: SnapshotFile) -> duckdb.DuckDBPyRelation:
    """The file as a relation with the contract's columns and its 1-based `source_row`."""
    try:
        if item.format == "parquet":
            relation = con.read_parquet(item.uri, file_row_number=True)
            row_number = "file_row_number + 1 AS source_row"
        elif item.format == "csv":
            relation = con.read_csv(item.uri, header=True, all_varchar=True, encoding="utf-8")
            row_number = "row_number() OVER () AS source_row"
        else:
            relation = con.sql(query("warehouse/read_jsonl"), params={"path": item.uri})
            row_number = "row_number() OVER () AS source_row"
        columns = set(relation.columns)
    except duckdb.Error as error:
        raise _unreadable(item, error) from None
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise BillingError(f"snapshot file {item.uri} has no column {', '.join(missing)}")
    extra = [f"NULL::VARCHAR AS {name}" for name in OPTIONAL_COLUMNS if name not in columns]
    return relation.project(", ".join(["*", row_number, *extra]))


def prepare_ingest(con: duckdb.DuckDBPyConnection, snapshots: SnapshotRoot, tenant_ids: list[str]) -> None:
    """Create the tables ingestion works in, for the tenants that events may name, and make the snapshot root
    readable by DuckDB."""
    con.execute(query("warehouse/tenant_names"), {"tenant_ids": sorted(set(tenant_ids))})  # an enum refuses repeats
    for statement in statements("warehouse/ingest_tables"):
        con.execute(statement)
    con.execute(query("warehouse/classify"))
    snapshots.register(con)


def _stage(con: duckdb.DuckDBPyConnection, day: date, files: list[SnapshotFile]) -> None:
    for item in files:
        if item.size == 0 and item.format != "parquet":  # an empty text drop has no rows (Parquet always has a footer)
            continue
        relation = _open_file(con, item)
        relation.to_view("snapshot_file")
        timestamp_is_text = str(relation.types[relation.columns.index("occurred_at")]) in ("VARCHAR", "JSON")
        try:
            con.execute(query("warehouse/stage_file"), {
                "arrival_day": day, "source_file": item.name, "timestamp_is_text": timestamp_is_text,
            })
        except duckdb.Error as error:
            raise _unreadable(item, error) from None


def _clear_day(con: duckdb.DuckDBPyConnection) -> None:
    for statement in statements("warehouse/day_clear"):
        con.execute(statement)


def _find_seen_before(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, day: date) -> None:
    """Fill `seen_before`: a scan of every other day's keys first, then ids and content from the few days that
    share one (a day's re-sent events usually come from a day or two before)."""
    days = con.execute(query("warehouse/shared_key_days"), {"day": day}).fetchall()
    if days:
        files = [str(warehouse.partition_file("events", shared.isoformat())) for (shared,) in days]
        con.execute(query("warehouse/seen_before"), {"files": files})


def _classify_and_write(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, result: DayResult, fingerprint: str) -> None:
    _find_seen_before(con, warehouse, result.day)
    con.execute(query("warehouse/suspects"))
    key = result.day.isoformat()
    warehouse.write_partition(con, "events", key, {
        "rows": con.sql(query("warehouse/partition_rows")), "usage": con.sql(query("warehouse/partition_usage")),
    }, fingerprint)
    _clear_day(con)
    path = warehouse.partition_file("events", key)
    for status, reason, count in con.execute(query("warehouse/partition_counts"), {"path": str(path)}).fetchall():
        result.rows_read += count
        if status == "accepted":
            result.accepted += count
        elif status == "duplicate":
            result.duplicates += count
        else:
            result.quarantined += count
            result.quarantine_reasons[reason] = count
    warehouse.refresh(con)


def ingest_days(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, snapshots: SnapshotRoot, days: list[date],
                tenant_ids: list[str], force: bool = True, progress=lambda result: None) -> list[DayResult]:
    """Replace the `events` partition of each day with the classified rows of its folder.

    `con` comes from `warehouse.connect()` with `prepare_ingest` done. A day without a folder keeps
    what it has (a purged snapshot folder must not erase billed usage). With force=False, a day whose
    files and tenants are unchanged since its last ingestion is skipped.
    """
    results = []
    _clear_day(con)  # of a day whose ingestion failed on this connection
    for day in sorted(days):
        result = DayResult(day)
        results.append(result)
        files = snapshots.files(day)
        day_fingerprint = None if files is None else fingerprint(files, tenant_ids, RULES_VERSION)
        if files is None:
            result.skipped = "no folder"
        elif not force and warehouse.partition_fingerprint("events", day.isoformat()) == day_fingerprint:
            result.skipped = "unchanged"
        else:
            result.files = len(files)
            _stage(con, day, files)
            _classify_and_write(con, warehouse, result, day_fingerprint)
        progress(result)
    return results
