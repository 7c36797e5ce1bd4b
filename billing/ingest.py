"""Ingest arrival days of usage snapshots into the warehouse: validate, deduplicate, quarantine.

Free of Dagster: the asset in assets/ingest.py calls `ingest_days` for its partition range.
Days are ingested in order, a few at a time (a batch). Their files are normalised and checked into the
`staged` table; the rows that may repeat an event (their key repeats in the batch or was accepted on a day
outside it) are picked out as `suspects`; then every row is classified (the view `classified`) and each day's
partition is written from it. The batch's partitions are replaced together, atomically. Dedup follows arrival
day, file name and row: the first copy of an event is the one billed.

Every file is read literally (DuckDB's readers take a path as a glob pattern: see `literal`), and every row
is accounted for: each file's rows are staged once, numbered 1 to n, and the partition written holds as many
of them (accepted, duplicate or quarantined) before it replaces the old one.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from billing.settings import BillingError, shown
from billing.snapshots import SnapshotFile, SnapshotRoot, fingerprint, literal
from billing.sql import query, statements
from billing.warehouse import Warehouse, cursor, write_file

# Bump when validation, dedup or the partition layout change, so that every day is ingested again.
RULES_VERSION = "7"
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
    file_rows: dict[str, int] = field(default_factory=dict)  # rows read of each file, each accounted for
    skipped: str | None = None  # why nothing was written, when nothing was


CSV_DIALECT = "CSV is read comma-separated, quoted with \", each row with the header's fields"


def _unreadable(item: SnapshotFile, error: Exception) -> BillingError:
    hint = f" ({CSV_DIALECT})" if item.format == "csv" else ""
    return BillingError(f"unreadable snapshot file {item.uri}: {str(error).splitlines()[0]}{hint}")


def _open_file(con: duckdb.DuckDBPyConnection, item: SnapshotFile) -> duckdb.DuckDBPyRelation:
    """The file as a relation with the contract's columns and each row's `snapshot_uri` (and, for Parquet,
    `file_row_number`; for JSON Lines, `read_problem`)."""
    try:
        if item.format == "parquet":
            relation = con.sql(query("warehouse/read_parquet"), params={"files": [literal(item.uri)]})
        else:
            relation = con.sql(query(f"warehouse/read_{item.format}"), params={"path": literal(item.uri)})
        columns = set(relation.columns)
    except duckdb.Error as error:
        raise _unreadable(item, error) from None
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        read = [name for name in relation.columns if name != "snapshot_uri"]
        hint = f" (its header is one column {shown(read[0])}: {CSV_DIALECT})" if item.format == "csv" and len(read) == 1 else ""
        raise BillingError(f"snapshot file {item.uri} has no column {', '.join(missing)}{hint}")
    return relation


def _contract_columns(relation: duckdb.DuckDBPyRelation, fmt: str) -> duckdb.DuckDBPyRelation:
    """The contract's columns (NULL for an optional one the file lacks), each row's `snapshot_uri`, its
    1-based `source_row` and its `read_problem`. A file's other columns are left out, whatever their names."""
    row_number = "file_row_number + 1" if fmt == "parquet" else "row_number() OVER ()"
    read_problem = "read_problem" if fmt == "jsonl" else "NULL::VARCHAR AS read_problem"
    columns = [name if name in relation.columns else f"NULL::VARCHAR AS {name}"
               for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    return relation.project(", ".join([*columns, "snapshot_uri", f"{row_number} AS source_row", read_problem]))


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
            _stage_relation(con, _contract_columns(relation, item.format))
        except duckdb.Error as error:
            raise _unreadable(item, error) from None
    for items in parquet_layouts.values():
        try:
            relation = con.sql(query("warehouse/read_parquet"), params={"files": [literal(item.uri) for item in items]})
            _stage_relation(con, _contract_columns(relation, "parquet"))
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


def _write_partitions(con: duckdb.DuckDBPyConnection, versions: dict[str, Path], fingerprints: dict[date, str]) -> None:
    """Write the days' classified rows and usage sums into their new partition versions.

    WRITERS cursors write the files at once: a day's file alone keeps both cores busy only part of the time.
    With more files than writers, each writer runs on one thread, which spares DuckDB's threads from
    contending for the two cores (a fifth faster for days of 300k events); a day alone keeps them.
    """
    files = [(day, name) for day in fingerprints for name in ("rows", "usage")]

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


def _staged_rows(con: duckdb.DuckDBPyConnection, batch: list[tuple[DayResult, list[SnapshotFile], str]]) -> None:
    """Each day's `file_rows`: the rows staged of each of its files, which were read once each (numbered 1 to
    their count) and are files of the day (a pattern or a reader would bring in others)."""
    listed = {(result.day, item.name): item for result, files, _ in batch for item in files}
    results = {result.day: result for result, _, _ in batch}
    for day, name, rows, first_row, last_row in con.execute(query("warehouse/staged_files")).fetchall():
        item = listed.get((day, name))
        if item is None:
            raise BillingError(f"snapshot folder dt={day}: rows were read from {shown(name)}, which is not one of "
                               "its files; nothing was written")
        if (first_row, last_row) != (1, rows):
            raise BillingError(f"snapshot file {item.uri}: {rows} rows were read, numbered {first_row} to "
                               f"{last_row}; nothing was written")
        results[day].file_rows[name] = rows


def _count(con: duckdb.DuckDBPyConnection, path: Path, result: DayResult) -> None:
    """Fill the counts of a day from its new partition file, which must hold every row read of each file."""
    written: dict[str, int] = {}
    for name, status, reason, count in con.execute(query("warehouse/partition_counts"),
                                                   {"path": literal(str(path))}).fetchall():
        written[name] = written.get(name, 0) + count
        result.rows_read += count
        if status == "accepted":
            result.accepted += count
        elif status == "duplicate":
            result.duplicates += count
        else:
            result.quarantined += count
            result.quarantine_reasons[reason] = result.quarantine_reasons.get(reason, 0) + count
    if written != result.file_rows:
        lost = sorted(name for name in set(written) | set(result.file_rows)
                      if written.get(name, 0) != result.file_rows.get(name, 0))
        raise BillingError(f"snapshot folder dt={result.day}: the rows of {shown(lost[0])} are not all accounted for "
                           f"(read {result.file_rows.get(lost[0], 0)}, written {written.get(lost[0], 0)}); "
                           "nothing was written")


def _ingest_batch(con: duckdb.DuckDBPyConnection, warehouse: Warehouse,
                  batch: list[tuple[DayResult, list[SnapshotFile], str]]) -> None:
    """Stage the files of a few days, classify their rows together and replace their partitions: each day's
    partition holds every row read of its files (accepted, duplicate or quarantined) or none is replaced."""
    for result, files, _ in batch:
        result.files = len(files)
    _stage(con, [item for _, files, _ in batch for item in files])
    _staged_rows(con, batch)
    _find_seen_before(con, warehouse, [result.day for result, _, _ in batch])
    con.execute(query("warehouse/suspects"))
    with warehouse.replacing("events", [result.day.isoformat() for result, _, _ in batch]) as versions:
        _write_partitions(con, versions, {result.day: day_fingerprint for result, _, day_fingerprint in batch})
        for result, _, _ in batch:
            _count(con, versions[result.day.isoformat()] / "rows.parquet", result)
    _clear_work_tables(con)
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
