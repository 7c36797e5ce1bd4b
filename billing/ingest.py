"""Ingest arrival days of usage snapshots into the warehouse: validate, deduplicate, quarantine.

Free of Dagster: the asset in assets/ingest.py calls `ingest_days` for its partition range.
Days are ingested in order, a few at a time (a batch). Their files are normalised and checked into the
`staged` table; the rows that may repeat an event (their key repeats in the batch or was accepted on a day
outside it) are picked out as `suspects`; then every row is classified (the view `classified`) and each day's
partition is written from it. The batch's partitions are replaced together, atomically. Dedup follows arrival
day, file name and row: the first copy of an event is the one billed.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import duckdb

from billing.settings import BillingError
from billing.snapshots import SnapshotFile, SnapshotRoot, fingerprint
from billing.sql import query, statements
from billing.warehouse import Warehouse, cursor, write_file

# Bump when validation, dedup or the partition layout change, so that every day is ingested again.
RULES_VERSION = "5"
REQUIRED_COLUMNS = ("event_id", "occurred_at", "tenant_id", "service", "metric", "quantity")
OPTIONAL_COLUMNS = ("user_id", "workload")
# Snapshot bytes staged and classified at once: about 5M events in Parquet, 1 GB of work tables in memory
# (CSV and JSON Lines take about ten times the bytes per event). Bigger batches scan history no faster.
BATCH_BYTES = 64 * 2**20
# DuckDB cursors that write a batch's partition files at once.
WRITERS = 2


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
    """The file as a relation with the contract's columns and each row's `snapshot_uri` (and, for Parquet,
    `file_row_number`)."""
    try:
        if item.format == "parquet":
            relation = con.sql(query("warehouse/read_parquet"), params={"files": [item.uri]})
        elif item.format == "csv":
            relation = con.read_csv(item.uri, header=True, all_varchar=True, encoding="utf-8", filename="snapshot_uri")
        else:
            relation = con.sql(query("warehouse/read_jsonl"), params={"path": item.uri})
        columns = set(relation.columns)
    except duckdb.Error as error:
        raise _unreadable(item, error) from None
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise BillingError(f"snapshot file {item.uri} has no column {', '.join(missing)}")
    return relation


def _contract_columns(relation: duckdb.DuckDBPyRelation, is_parquet: bool) -> duckdb.DuckDBPyRelation:
    """The contract's columns (NULL for an optional one the file lacks), each row's `snapshot_uri` and its
    1-based `source_row`. A file's other columns are left out, whatever their names."""
    row_number = "file_row_number + 1" if is_parquet else "row_number() OVER ()"
    columns = [name if name in relation.columns else f"NULL::VARCHAR AS {name}"
               for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    return relation.project(", ".join([*columns, "snapshot_uri", f"{row_number} AS source_row"]))


def _stage_relation(con: duckdb.DuckDBPyConnection, relation: duckdb.DuckDBPyRelation) -> None:
    relation.to_view("snapshot_file")
    timestamp_is_text = str(relation.types[relation.columns.index("occurred_at")]) in ("VARCHAR", "JSON")
    con.execute(query("warehouse/stage_file"), {"timestamp_is_text": timestamp_is_text})


def _stage(con: duckdb.DuckDBPyConnection, files: list[SnapshotFile]) -> None:
    """Normalise and check the rows of the files into `staged`. Parquet files of one layout (column names and
    types) are read in one scan, which keeps both cores busy where a day's file alone would not."""
    parquet_layouts: dict[tuple, list[SnapshotFile]] = {}
    for item in files:
        if item.size == 0 and item.format != "parquet":  # an empty text drop has no rows (Parquet always has a footer)
            continue
        relation = _open_file(con, item)
        if item.format == "parquet":
            parquet_layouts.setdefault((tuple(relation.columns), tuple(map(str, relation.types))), []).append(item)
            continue
        try:
            _stage_relation(con, _contract_columns(relation, is_parquet=False))
        except duckdb.Error as error:
            raise _unreadable(item, error) from None
    for items in parquet_layouts.values():
        try:
            relation = con.sql(query("warehouse/read_parquet"), params={"files": [item.uri for item in items]})
            _stage_relation(con, _contract_columns(relation, is_parquet=True))
        except duckdb.Error as error:
            if len(items) == 1:
                raise _unreadable(items[0], error) from None
            for item in items:  # one by one, to name the file that fails (a failed statement inserts nothing)
                _stage(con, [item])
            raise  # every file read alone: the error was not one file's


def prepare_ingest(con: duckdb.DuckDBPyConnection, snapshots: SnapshotRoot, tenant_ids: list[str]) -> None:
    """Create the tables ingestion works in, for the tenants that events may name, and make the snapshot root
    readable by DuckDB."""
    con.execute(query("warehouse/tenant_names"), {"tenant_ids": sorted(set(tenant_ids))})  # an enum refuses repeats
    for statement in statements("warehouse/ingest_tables"):
        con.execute(statement)
    con.execute(query("warehouse/classify"))
    snapshots.register(con)


def _clear_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in statements("warehouse/work_clear"):
        con.execute(statement)


def _find_seen_before(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, days: list[date]) -> None:
    """Fill `seen_before`: a scan of every other day's keys first, then ids and content from the few days that
    share one (re-sent events usually come from a day or two before)."""
    shared_days = con.execute(query("warehouse/shared_key_days"), {"days": days}).fetchall()
    if shared_days:
        files = [str(warehouse.partition_file("events", shared.isoformat())) for (shared,) in shared_days]
        con.execute(query("warehouse/seen_before"), {"files": files})


def _write_partitions(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, fingerprints: dict[date, str]) -> None:
    """Replace the days' partitions with their classified rows and usage sums, together.

    WRITERS cursors write the files at once: a day's file alone keeps both cores busy only part of the time.
    With more files than writers, each writer runs on one thread, which spares DuckDB's threads from
    contending for the two cores (a fifth faster for days of 300k events); a day alone keeps them.
    """
    files = [(day, name) for day in fingerprints for name in ("rows", "usage")]
    with warehouse.replacing("events", [day.isoformat() for day in fingerprints]) as versions:
        def write(share: list[tuple[date, str]]) -> None:
            writer = cursor(con)
            for day, name in share:
                relation = writer.sql(query(f"warehouse/partition_{name}"), params={"arrival_day": day})
                write_file(writer, relation, versions[day.isoformat()] / f"{name}.parquet", fingerprints[day])

        if len(files) > WRITERS:
            con.execute(query("warehouse/threads_one"))
        try:
            with ThreadPoolExecutor(WRITERS) as pool:
                list(pool.map(write, [files[n::WRITERS] for n in range(WRITERS)]))  # list: raises a writer's error
        finally:
            con.execute(query("warehouse/threads_all"))


def _count(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, result: DayResult) -> None:
    path = warehouse.partition_file("events", result.day.isoformat())
    for status, reason, count in con.execute(query("warehouse/partition_counts"), {"path": str(path)}).fetchall():
        result.rows_read += count
        if status == "accepted":
            result.accepted += count
        elif status == "duplicate":
            result.duplicates += count
        else:
            result.quarantined += count
            result.quarantine_reasons[reason] = count


def _ingest_batch(con: duckdb.DuckDBPyConnection, warehouse: Warehouse,
                  batch: list[tuple[DayResult, list[SnapshotFile], str]]) -> None:
    """Stage the files of a few days, classify their rows together and replace their partitions."""
    for result, files, _ in batch:
        result.files = len(files)
    _stage(con, [item for _, files, _ in batch for item in files])
    _find_seen_before(con, warehouse, [result.day for result, _, _ in batch])
    con.execute(query("warehouse/suspects"))
    _write_partitions(con, warehouse, {result.day: day_fingerprint for result, _, day_fingerprint in batch})
    _clear_work_tables(con)
    for result, _, _ in batch:
        _count(con, warehouse, result)
    warehouse.refresh(con)


def _size(files) -> int:
    return sum(item.size for item in files)


def ingest_days(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, snapshots: SnapshotRoot, days: list[date],
                tenant_ids: list[str], force: bool = True, progress=lambda result: None) -> list[DayResult]:
    """Replace the `events` partition of each day with the classified rows of its folder.

    `con` comes from `warehouse.connect()` with `prepare_ingest` done. A day without a folder keeps
    what it has (a purged snapshot folder must not erase billed usage). With force=False, a day whose
    files and tenants are unchanged since its last ingestion is skipped. Consecutive days are ingested
    together, up to BATCH_BYTES of files: one scan of history for them all, and scans and writes big
    enough to keep both cores busy.
    """
    results = []
    batch: list[tuple[DayResult, list[SnapshotFile], str]] = []

    def ingest_batch() -> None:
        _ingest_batch(con, warehouse, batch)
        for result, _, _ in batch:
            progress(result)
        batch.clear()

    _clear_work_tables(con)  # of an ingestion that failed on this connection
    for day in sorted(set(days)):
        result = DayResult(day)
        results.append(result)
        files = snapshots.files(day)
        day_fingerprint = None if files is None else fingerprint(files, tenant_ids, RULES_VERSION)
        if files is None:
            result.skipped = "no folder"
        elif not force and warehouse.partition_fingerprint("events", day.isoformat()) == day_fingerprint:
            result.skipped = "unchanged"
        else:
            if batch and _size(f for _, staged, _ in batch for f in staged) + _size(files) > BATCH_BYTES:
                ingest_batch()
            batch.append((result, files, day_fingerprint))
            continue
        progress(result)
    if batch:
        ingest_batch()
    return results


def stage_days(con: duckdb.DuckDBPyConnection, snapshots: SnapshotRoot, days: list[date], tenant_ids: list[str]) -> None:
    """The snapshot rows of arrival days read again into `staged`, as ingestion reads them, to find which file
    and row a billed event came from (the warehouse keeps a billed row's file and row, not its content)."""
    prepare_ingest(con, snapshots, tenant_ids)
    for day in days:
        _stage(con, snapshots.files(day) or [])
