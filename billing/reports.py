"""Reports finance reads: JSON documents under BILLING_HOME/reports/<period>/, written atomically."""
from __future__ import annotations

import os
from pathlib import Path

from billing.money import dumps, loads


def write_report(reports_dir: Path, period: str, name: str, document) -> Path:
    target = Path(reports_dir) / period / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(dumps(document) + "\n")
    os.replace(temporary, target)
    return target


def read_report(reports_dir: Path, period: str, name: str):
    """A written report as finance reads it, with its money as Decimal."""
    return loads((Path(reports_dir) / period / f"{name}.json").read_text())
