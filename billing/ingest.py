"""Ingest one arrival day of usage snapshots into the warehouse: validate, deduplicate, quarantine.

Free of Dagster: the asset in assets/ingest.py calls `ingest_day` for each partition.
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


def _open_file(con: duckdb.DuckDBPyConnection, item: SnapshotFile) -> duckdb.DuckDBPyRelation:
    try:
        if item.format == "parquet":
            relation = con.read_parquet(item.uri)
        elif item.format == "csv":
            relation = con.read_csv(item.uri, header=True, all_varchar=True, encoding="utf-8")
        else:
            relation = con.sql(query("warehouse/read_jsonl"), params={"path": item.uri})
        columns = set(relation.columns)
    except duckdb.Error as error:
        raise BillingError(f"unreadable snapshot file {item.uri}: {str(error).splitlines()[0]}") from None
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise BillingError(f"snapshot file {item.uri} has no column {', '.join(missing)}")
    extra = [f"NULL::VARCHAR AS {name}" for name in OPTIONAL_COLUMNS if name not in columns]
    return relation.project(", ".join(["*", *extra])) if extra else relation


def prepare_ingest(con: duckdb.DuckDBPyConnection, snapshots: SnapshotRoot, tenant_ids: list[str]) -> None:
    """Load the tenants that events may name, and make the snapshot root readable by DuckDB."""
    con.execute(query("warehouse/known_tenants"), {"tenant_ids": sorted(tenant_ids)})
    snapshots.register(con)


def ingest_day(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, snapshots: SnapshotRoot, day: date,
               tenant_ids: list[str], force: bool = True) -> DayResult:
    """Replace the `events` partition of `day` with the classified rows of its folder.

    `con` comes from `warehouse.connect()` with `prepare_ingest` done. A day without a folder
    keeps what it has (a purged snapshot folder must not erase billed usage). With force=False, a
    day whose files and tenants are unchanged since its last ingestion is skipped.
    """
    result = DayResult(day)
    files = snapshots.files(day)
    if files is None:
        result.skipped = "no folder"
        return result
    day_fingerprint = fingerprint(files, tenant_ids, RULES_VERSION)
    if not force and warehouse.partition_fingerprint("events", day.isoformat()) == day_fingerprint:
        result.skipped = "unchanged"
        return result
    result.files = len(files)
    con.execute("DELETE FROM staged")
    for item in files:
        relation = _open_file(con, item)
        relation.to_view("snapshot_file")
        timestamp_is_text = str(relation.types[relation.columns.index("occurred_at")]) in ("VARCHAR", "JSON")
        try:
            con.execute(query("warehouse/stage_file"), {
                "arrival_day": day, "source_file": item.name, "timestamp_is_text": timestamp_is_text,
            })
        except duckdb.Error as error:
            raise BillingError(f"unreadable snapshot file {item.uri}: {str(error).splitlines()[0]}") from None
    con.execute(query("warehouse/classify"), {"arrival_day": day})
    counts = con.execute(query("warehouse/ingest_counts")).fetchall()[0]
    result.rows_read, result.accepted, result.duplicates, result.quarantined = counts
    result.quarantine_reasons = dict(con.execute(query("warehouse/quarantine_reasons")).fetchall())
    warehouse.write_partition(con, "events", day.isoformat(), "classified", day_fingerprint)
    warehouse.refresh(con)
    return result
