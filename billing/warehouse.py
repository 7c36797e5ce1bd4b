"""The DuckDB warehouse: Parquet partitions under BILLING_HOME/warehouse, read through views.

Every partition is one Parquet file, written to a temporary name and renamed into place, so a
partition is replaced whole or not at all and readers never need DuckDB's write lock.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

from billing.sql import query, statements

# dataset name -> partition key kind; each is a folder of <key>.parquet files
DATASETS = ("events", "daily_usage", "storage_peaks", "monthly_usage")


class Warehouse:
    def __init__(self, root: Path):
        self.root = Path(root)

    def partition_path(self, dataset: str, key: str) -> Path:
        return self.root / dataset / f"{key}.parquet"

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB session with views over every dataset present."""
        con = duckdb.connect()
        for statement in statements("warehouse/session"):
            con.execute(statement)
        self.refresh(con)
        return con

    def refresh(self, con: duckdb.DuckDBPyConnection) -> None:
        """(Re)create the views, so that datasets written since are seen."""
        for dataset in DATASETS:
            files = self.root / dataset
            if any(files.glob("*.parquet")):
                view = con.read_parquet(str(files / "*.parquet"), union_by_name=True)
            elif dataset == "events":
                view = con.table("events_template")
            else:
                continue
            view.to_view("partitions_all" if dataset == "events" else dataset)
        for statement in statements("warehouse/views"):
            con.execute(statement)

    def write_partition(self, con: duckdb.DuckDBPyConnection, dataset: str, key: str,
                        relation: duckdb.DuckDBPyRelation, fingerprint: str = "") -> Path:
        """Replace one partition with the rows of `relation`, atomically.

        `fingerprint` records what the partition was computed from, for skipping unchanged inputs.
        """
        target = self.partition_path(dataset, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            relation.to_view("partition_rows")
            con.execute(query("warehouse/copy_partition"), {"path": str(temporary), "fingerprint": fingerprint})
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        return target

    def partition_fingerprint(self, dataset: str, key: str) -> str | None:
        path = self.partition_path(dataset, key)
        if not path.exists():
            return None
        rows = duckdb.execute(query("warehouse/partition_fingerprint"), [str(path)]).fetchall()
        return rows[0][0].decode() if rows else ""
