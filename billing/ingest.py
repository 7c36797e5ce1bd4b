"""Ingest arrival days of usage snapshots into the warehouse: validate, deduplicate, quarantine.

Free of Dagster: the asset in assets/ingest.py calls `ingest_days` for its partition range.
Days are processed in batches: one DuckDB pass classifies a batch, then each day's partition is
replaced atomically. Dedup within a batch follows (arrival day, file name, row), as one day at a
time would, so the result does not depend on how days are batched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from billing.settings import BillingError
from billing.snapshots import SnapshotFile, SnapshotRoot, fingerprint
from billing.sql import query
from billing.warehouse import Warehouse

# Bump when validation or dedup rules change, so that every day is ingested again.
RULES_VERSION = "1"
REQUIRED_COLUMNS = ("event_id", "occurred_at", "tenant_id", "service", "metric", "quantity")
OPTIONAL_COLUMNS = ("user_id", "workload")
BATCH_ROWS = 20_000_000  # rows classified in one pass; bounds memory on a 24 GiB machine


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


@dataclass
class _PendingDay:
    result: DayResult
    files: list[SnapshotFile]
    fingerprint: str


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
    """Load the tenants that events may name, and make the snapshot root readable by DuckDB."""
    con.execute(query("warehouse/known_tenants"), {"tenant_ids": sorted(tenant_ids)})
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


def _classify_and_write(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, batch: list[_PendingDay]) -> None:
    days = [pending.result.day for pending in batch]
    con.execute(query("warehouse/classify"), {"batch_days": days})
    counts = {day: rest for day, *rest in con.execute(query("warehouse/ingest_counts")).fetchall()}
    reasons: dict[date, dict[str, int]] = {}
    for day, reason, rows in con.execute(query("warehouse/quarantine_reasons")).fetchall():
        reasons.setdefault(day, {})[reason] = rows
    for pending in batch:
        result = pending.result
        result.rows_read, result.accepted, result.duplicates, result.quarantined = counts.get(result.day, (0, 0, 0, 0))
        result.quarantine_reasons = reasons.get(result.day, {})
        rows = con.sql(query("warehouse/partition_day"), params={"day": result.day})
        warehouse.write_partition(con, "events", result.day.isoformat(), rows, pending.fingerprint)
    con.execute(query("warehouse/staged_clear"))
    warehouse.refresh(con)


def ingest_days(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, snapshots: SnapshotRoot, days: list[date],
                tenant_ids: list[str], force: bool = True, progress=lambda result: None) -> list[DayResult]:
    """Replace the `events` partition of each day with the classified rows of its folder.

    `con` comes from `warehouse.connect()` with `prepare_ingest` done. A day without a folder keeps
    what it has (a purged snapshot folder must not erase billed usage). With force=False, a day whose
    files and tenants are unchanged since its last ingestion is skipped.
    """
    results, batch, batch_rows = [], [], 0
    con.execute(query("warehouse/staged_clear"))
    for day in sorted(days):
        result = DayResult(day)
        results.append(result)
        files = snapshots.files(day)
        if files is None:
            result.skipped = "no folder"
            progress(result)
            continue
        day_fingerprint = fingerprint(files, tenant_ids, RULES_VERSION)
        if not force and warehouse.partition_fingerprint("events", day.isoformat()) == day_fingerprint:
            result.skipped = "unchanged"
            progress(result)
            continue
        result.files = len(files)
        _stage(con, day, files)
        batch.append(_PendingDay(result, files, day_fingerprint))
        batch_rows = con.execute(query("warehouse/staged_count")).fetchall()[0][0]
        if batch_rows >= BATCH_ROWS:
            _classify_and_write(con, warehouse, batch)
            for pending in batch:
                progress(pending.result)
            batch = []
    if batch:
        _classify_and_write(con, warehouse, batch)
        for pending in batch:
            progress(pending.result)
    return results
