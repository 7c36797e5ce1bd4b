"""The snapshot root: `<root>/dt=YYYY-MM-DD/part-*.{parquet,csv,jsonl}` in a folder or under s3://bucket/prefix.

Nothing under the root is skipped without a word: an entry at the root that is not a day folder is a
warning (`strays`), a sub-folder or an unknown file in a day folder fails that day's ingestion. Only hidden
and marker entries (`.x`, `_SUCCESS`, `_temporary`) are not data and are passed over.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from billing.settings import BillingError, shown

FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
# ASCII digits only and nothing after the date (not even a newline): matched whole, with fullmatch.
DAY_FOLDER = re.compile(r"dt=([0-9]{4}-[0-9]{2}-[0-9]{2})", re.ASCII)
# DuckDB's readers take every path as a glob pattern; each of these in a class of its own is itself.
GLOB_CHARACTERS = re.compile(r"([\[*?])")


def literal(uri: str) -> str:
    """`uri` as a pattern that DuckDB's readers match to that one file only: `part-[1].csv` would read
    `part-1.csv`, and `*` or `?` other files too."""
    return GLOB_CHARACTERS.sub(r"[\1]", uri)


def _is_data(name: str) -> bool:
    return not name.startswith((".", "_"))  # hidden and marker entries: .DS_Store, _SUCCESS, _temporary/


def _day(name: str) -> date | None:
    match = DAY_FOLDER.fullmatch(name)
    try:
        return date.fromisoformat(match.group(1)) if match else None
    except ValueError:  # dt=2026-09-31
        return None


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

    def _entries(self, folder: str) -> list[tuple[str, str, dict]]:
        """(name, kind, details) of each data entry of a folder, by name: kind is file, folder or other (a
        device, a socket, a broken link); details hold size and modified of a file."""
        entries = []
        if self.is_s3:
            for entry in self._fs.ls(folder, detail=True):
                kind = {"file": "file", "directory": "folder"}.get(entry.get("type"), "other")
                entries.append((entry["name"].rstrip("/").rsplit("/", 1)[-1], kind,
                                {"size": int(entry.get("size") or 0),
                                 "modified": str(entry.get("ETag") or entry.get("LastModified"))}))
        else:
            for entry in Path(folder).iterdir():
                kind = "file" if entry.is_file() else "folder" if entry.is_dir() else "other"
                stat = entry.stat() if kind == "file" else None
                entries.append((entry.name, kind, {"size": stat.st_size, "modified": str(stat.st_mtime_ns)} if stat else {}))
        return sorted((entry for entry in entries if _is_data(entry[0])), key=lambda entry: entry[0])

    def days(self) -> list[date]:
        """The days that have a folder, in order."""
        self.check()
        return sorted(day for name, kind, _ in self._entries(self.root) if kind == "folder" and (day := _day(name)))

    def strays(self) -> list[str]:
        """What the root holds besides day folders (and hidden or marker entries): never read, so reported."""
        self.check()
        return [f"snapshot root: {shown(name)} is not a day folder dt=YYYY-MM-DD; its files are not ingested"
                if kind == "folder" else f"snapshot root: {shown(name)} is not in a day folder dt=YYYY-MM-DD; not ingested"
                for name, kind, _ in self._entries(self.root) if kind != "folder" or _day(name) is None]

    def folder(self, day: date) -> str:
        return f"{self.root}/dt={day.isoformat()}"

    def files(self, day: date) -> list[SnapshotFile] | None:
        """The data files of a day, sorted by name; None when the day has no folder."""
        folder = self.folder(day)
        if not (self._fs.isdir(folder) if self.is_s3 else Path(folder).is_dir()):
            return None
        files = []
        for name, kind, details in self._entries(folder):
            if kind != "file":
                what = "a sub-folder" if kind == "folder" else "not a regular file"
                raise BillingError(f"snapshot folder {folder}: {shown(name)} is {what}; a day's snapshot files lie "
                                   "in its folder itself (move or remove it)")
            files.append(SnapshotFile(f"{folder}/{name}", details["size"], details["modified"]))
        return files

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
