"""Every query lives in sql/*.sql; this loads them by name."""
from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


@cache
def query(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def statements(name: str) -> list[str]:
    """The statements of a script, split on the semicolons that end a line."""
    parts = [part.strip() for part in query(name).split(";\n")]
    return [part.rstrip(";") for part in parts if part and not all(line.startswith("--") for line in part.splitlines())]
