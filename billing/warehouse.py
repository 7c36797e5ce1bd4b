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
from pathlib import Path

import duckdb

from billing.sql import query, statements

# view -> the file of every partition that it reads; views.sql builds on these. An arrival day of `events`
# keeps its snapshot rows and its usage sums in two files, so that millions of snapshot rows do not each
# carry eight empty usage columns (a fifth of the write).
VIEWS = {
    "events": "events/*/rows.parquet",
    "arrival_usage": "events/*/usage.parquet",
}
# Views that ingestion needs before the first partition is written: an empty table of the same layout,
# <view>_template (see session.sql), stands in.
TEMPLATED = ("events", "arrival_usage")


def _sync(*paths: Path) -> None:
    """Flush files, or the entries of folders, to disk."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Warehouse:
    def __init__(self, root: Path):
        self.root = Path(root)

    def partition_file(self, dataset: str, key: str, name: str = "rows") -> Path:
        return self.root / dataset / key / f"{name}.parquet"

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB session with views over every dataset present."""
        con = duckdb.connect()
        for statement in statements("warehouse/session"):
            con.execute(statement)
        self.refresh(con)
        return con

    def refresh(self, con: duckdb.DuckDBPyConnection) -> None:
        """(Re)create the views, so that partitions written since are seen."""
        for view, files in VIEWS.items():
            if any(self.root.glob(files)):
                con.read_parquet(str(self.root / files), union_by_name=True).to_view(view)
            elif view in TEMPLATED:
                con.table(f"{view}_template").to_view(view)
        for statement in statements("warehouse/views"):
            con.execute(statement)

    def write_partition(self, con: duckdb.DuckDBPyConnection, dataset: str, key: str,
                        files: dict[str, duckdb.DuckDBPyRelation], fingerprint: str = "") -> None:
        """Replace one partition with a file per relation of `files` (by name), atomically.

        `fingerprint` records what the partition was computed from, for skipping unchanged inputs.
        """
        link = self.root / dataset / key
        versions = self.root / ".versions" / dataset
        version = versions / f"{key}.{uuid.uuid4().hex}"
        version.mkdir(parents=True)
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            for name, relation in files.items():
                relation.to_view("partition_rows")
                con.execute(query("warehouse/copy_partition"),
                            {"path": str(version / f"{name}.parquet"), "fingerprint": fingerprint})
            # The version's files and entries reach the disk before the link does: a crash never links a torn one.
            _sync(*version.iterdir(), version, versions)
            pending = versions / f"{version.name}.link"  # outside the dataset folder, where no reader looks
            os.symlink(os.path.relpath(version, link.parent), pending)
            os.replace(pending, link)
            _sync(link.parent)
        except BaseException:
            shutil.rmtree(version)
            raise
        for stale in versions.glob(f"{key}.*"):  # the version replaced, and any left by an interrupted write
            if stale != version:
                stale.unlink() if stale.is_symlink() else shutil.rmtree(stale)

    def partition_fingerprint(self, dataset: str, key: str) -> str | None:
        path = self.partition_file(dataset, key)
        if not path.exists():
            return None
        rows = duckdb.execute(query("warehouse/partition_fingerprint"), [str(path)]).fetchall()
        return rows[0][0].decode() if rows else ""
