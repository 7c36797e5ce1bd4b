"""The DuckDB warehouse: Parquet partitions under BILLING_HOME/warehouse, read through views.

A partition is a folder of Parquet files, `<dataset>/<key>/<file>.parquet`. The folder is a link to a
version under `.versions/`: a new version is written in full and flushed to disk, then the link is
switched to it in one rename. So a partition is replaced whole or not at all, its files always belong
together, a crash cannot leave it torn, and readers never need DuckDB's write lock.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from billing.sql import query, statements

# view -> the file of every partition that it reads; views.sql builds on these. An arrival day of `events`
# keeps its snapshot rows and its usage sums in two files, so that millions of snapshot rows do not each
# carry eight empty usage columns (a fifth of the write). Before the first partition is written, an empty
# table of the same layout, <view>_template (see session.sql), stands in: ingestion reads both views.
VIEWS = {
    "events": "events/*/rows.parquet",
    "arrival_usage": "events/*/usage.parquet",
}


def _sync(*paths: Path) -> None:
    """Flush files, or the entries of folders, to disk."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_file(con: duckdb.DuckDBPyConnection, relation: duckdb.DuckDBPyRelation, path: Path,
               fingerprint: str = "") -> None:
    """Write a relation of `con` (a connection or a cursor) to one Parquet file."""
    view = f"file_to_write_{id(con)}"  # the cursors of a session share its views
    relation.to_view(view)
    con.execute(query("warehouse/copy_partition"), {"view": view, "path": str(path), "fingerprint": fingerprint})


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Another cursor of the session, for another thread: it shares the session's tables and types (not its
    temporary ones), and it works in UTC too."""
    other = con.cursor()
    other.execute(query("warehouse/time_zone"))
    return other


class Warehouse:
    def __init__(self, root: Path):
        self.root = Path(root)

    def partition_file(self, dataset: str, key: str, name: str = "rows") -> Path:
        return self.root / dataset / key / f"{name}.parquet"

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB session with views over every dataset present."""
        con = duckdb.connect()
        con.execute(query("warehouse/time_zone"))
        for statement in statements("warehouse/session"):
            con.execute(statement)
        self.refresh(con)
        return con

    def refresh(self, con: duckdb.DuckDBPyConnection) -> None:
        """(Re)create the views, so that partitions written since are seen."""
        for view, files in VIEWS.items():
            if any(self.root.glob(files)):
                con.read_parquet(str(self.root / files), union_by_name=True).to_view(view)
            else:
                con.table(f"{view}_template").to_view(view)
        for statement in statements("warehouse/views"):
            con.execute(statement)

    def write_partition(self, con: duckdb.DuckDBPyConnection, dataset: str, key: str,
                        files: dict[str, duckdb.DuckDBPyRelation], fingerprint: str = "") -> None:
        """Replace one partition with a file per relation of `files` (by name), atomically.

        `fingerprint` records what the partition was computed from, for skipping unchanged inputs.
        """
        with self.replacing(dataset, [key]) as versions:
            for name, relation in files.items():
                write_file(con, relation, versions[key] / f"{name}.parquet", fingerprint)

    @contextmanager
    def replacing(self, dataset: str, keys: list[str]) -> Iterator[dict[str, Path]]:
        """New versions of partitions (key -> an empty folder) to write files into. When the block ends, they
        replace the partitions, together; when it fails, every partition stays as it was."""
        versions = self.root / ".versions" / dataset
        versions.mkdir(parents=True, exist_ok=True)
        (self.root / dataset).mkdir(parents=True, exist_ok=True)
        new = {key: versions / f"{key}.{uuid.uuid4().hex}" for key in keys}
        try:
            for version in new.values():
                version.mkdir()
            yield new
            # The versions' files and entries reach the disk before a link does: a crash never links a torn one.
            for version in new.values():
                _sync(*version.iterdir(), version)
            _sync(versions)
        except BaseException:
            for version in new.values():
                shutil.rmtree(version, ignore_errors=True)
            raise
        for key, version in new.items():
            link = self.root / dataset / key
            pending = versions / f"{version.name}.link"  # outside the dataset folder, where no reader looks
            os.symlink(os.path.relpath(version, link.parent), pending)
            os.replace(pending, link)
        _sync(self.root / dataset)
        for key, version in new.items():  # the versions replaced, and any left by an interrupted write
            for stale in versions.glob(f"{key}.*"):
                if stale != version:
                    stale.unlink() if stale.is_symlink() else shutil.rmtree(stale)

    def last_replaced(self, dataset: str) -> datetime | None:
        """When a partition of the dataset was last replaced (its link switched): "last ingested at" for events.
        Read on every request of the service: one lstat per link (a glob would stat each version folder too)."""
        try:
            with os.scandir(self.root / dataset) as entries:
                moments = [entry.stat(follow_symlinks=False).st_mtime for entry in entries if entry.is_symlink()]
        except FileNotFoundError:
            return None
        return datetime.fromtimestamp(max(moments), timezone.utc) if moments else None

    def partition_fingerprint(self, dataset: str, key: str) -> str | None:
        path = self.partition_file(dataset, key)
        if not path.exists():
            return None
        rows = duckdb.execute(query("warehouse/partition_fingerprint"), [str(path)]).fetchall()
        return rows[0][0].decode() if rows else ""
