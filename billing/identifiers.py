"""The one rule for identifiers that come from outside (tenant, user, budget and payment method ids), and for
paths built from what the system made.

An identifier starts with an ASCII letter or digit and holds ASCII letters, digits and `. _ : @ -` only, at
most MAX_LENGTH characters: no `/`, no `..` at its start, no NUL, no spaces or control characters, no
look-alike letters. The directory import uses it, and so will every API that takes an id.
"""
from __future__ import annotations

import re
from pathlib import Path

from billing.settings import BillingError, shown

MAX_LENGTH = 128
IDENTIFIER = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:@-]{{0,{MAX_LENGTH - 1}}}", re.ASCII)
RULE = f"may hold letters, digits and . _ : @ - only (ASCII, starting with a letter or digit, at most {MAX_LENGTH})"


def is_identifier(value) -> bool:
    return isinstance(value, str) and IDENTIFIER.fullmatch(value) is not None


def check_identifier(kind: str, value) -> str:
    """`value` when it is an identifier; otherwise a BillingError naming `kind` (e.g. "user_id")."""
    if not is_identifier(value):
        raise BillingError(f"{kind} {shown(value)} {RULE}")
    return value


def inside(folder: Path, name: str) -> Path:
    """folder/name, refused when it resolves (through `..` or a link) anywhere but inside `folder`."""
    root = Path(folder).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or path == root:
        raise BillingError(f"refused to write {shown(str(path))}: outside {root}")
    return path
