"""The snapshot root: `<root>/dt=YYYY-MM-DD/part-*.{parquet,csv,jsonl}` in a folder or under s3://bucket/prefix."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from billing.settings import BillingError

FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
DAY_FOLDER = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class SnapshotFile:
    uri: str
    size: int
    modified: str

    @property
    def name(self) -> str:
        return self.uri.rsplit("/", 1)[-1]

    @property
    def format(self) -> str:
        fmt = FORMATS.get(Path(self.name).suffix.lower())
        if fmt is None:
            raise BillingError(f"unsupported snapshot file {self.uri}: expected .parquet, .csv or .jsonl")
        return fmt


class SnapshotRoot:
    def __init__(self, root: str, s3_endpoint_url: str | None = None):
        self.root = root.rstrip("/")
        self.is_s3 = self.root.startswith("s3://")
        self._fs = None
        if self.is_s3:
            import s3fs  # only needed for s3:// roots

            self._fs = s3fs.S3FileSystem(
                endpoint_url=s3_endpoint_url or None, use_listings_cache=False, skip_instance_cache=True
            )

    def check(self) -> None:
        exists = self._fs.exists(self.root) if self.is_s3 else Path(self.root).is_dir()
        if not exists:
            raise BillingError(f"snapshot root {self.root} does not exist (set BILLING_SNAPSHOT_ROOT)")

    def days(self) -> list[date]:
        """The days that have a folder, in order."""
        self.check()
        names = (
            [entry.rsplit("/", 1)[-1] for entry in self._fs.ls(self.root, detail=False)]
            if self.is_s3
            else [entry.name for entry in Path(self.root).iterdir() if entry.is_dir()]
        )
        found = []
        for name in names:
            match = DAY_FOLDER.match(name)
            if match:
                try:
                    found.append(date.fromisoformat(match.group(1)))
                except ValueError:
                    continue
        return sorted(found)

    def folder(self, day: date) -> str:
        return f"{self.root}/dt={day.isoformat()}"

    def files(self, day: date) -> list[SnapshotFile] | None:
        """The data files of a day, sorted by name; None when the day has no folder."""
        folder = self.folder(day)
        if self.is_s3:
            if not self._fs.isdir(folder):
                return None
            entries = [
                SnapshotFile(f"s3://{entry['name']}", int(entry.get("size", 0)), str(entry.get("ETag") or entry.get("LastModified")))
                for entry in self._fs.ls(folder, detail=True) if entry.get("type") == "file"
            ]
        else:
            path = Path(folder)
            if not path.is_dir():
                return None
            entries = [
                SnapshotFile(str(entry), entry.stat().st_size, str(entry.stat().st_mtime_ns))
                for entry in path.iterdir() if entry.is_file()
            ]
        # Hidden and marker files (.DS_Store, _SUCCESS) are not data.
        return sorted((f for f in entries if not f.name.startswith((".", "_"))), key=lambda f: f.name)

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._fs is not None:
            con.register_filesystem(self._fs)


def fingerprint(files: list[SnapshotFile], tenant_ids: list[str], rules_version: str) -> str:
    """What an ingested day depends on: its files, the tenants known, and the validation rules."""
    digest = hashlib.sha256(rules_version.encode())
    for item in files:
        digest.update(f"\0{item.name}\0{item.size}\0{item.modified}".encode())
    digest.update("\0tenants\0".encode() + "\0".join(sorted(tenant_ids)).encode())
    return digest.hexdigest()
