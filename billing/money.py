"""Decimal money and quantities: rounding and JSON output. No binary floating point in any sum."""
from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
READABLE_PLACES = Decimal("0.000001")
INDENT = 2


def round_half_up(value: Decimal, places: Decimal = CENT) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


def readable(quantity: Decimal) -> str:
    """A quantity as a person reads it in a description: thousands separated, at most 6 decimals (half up),
    no trailing zeros. Amounts are never shown this way: they stay exact."""
    return f"{round_half_up(quantity, READABLE_PLACES).normalize():,f}"


def to_decimal(value: Any, what: str) -> Decimal:
    """Parse a number from configuration or input; ValueError names `what` when it is not one."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def dumps(document: Any, indent: int | None = INDENT) -> str:
    """JSON like json.dumps(indent=2), with each Decimal written as an exact JSON number: its own digits,
    never through a binary float (99999999999999.99 stays so; money keeps its two decimals). With
    `indent=None`, compact, like json.dumps(separators=(",", ":")): the API's responses."""
    return _encode(document, 0, indent)


def _encode(value: Any, depth: int, indent: int | None) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as a JSON number")
        return f"{value:f}"
    if isinstance(value, dict):
        colon = ": " if indent is not None else ":"
        items = [f"{json.dumps(_key(key))}{colon}{_encode(item, depth + 1, indent)}" for key, item in value.items()]
        return _block("{", items, "}", depth, indent)
    if isinstance(value, (list, tuple)):
        return _block("[", [_encode(item, depth + 1, indent) for item in value], "]", depth, indent)
    if hasattr(value, "isoformat"):
        return json.dumps(value.isoformat())
    if value is None or isinstance(value, (str, int, float, bool)):
        return json.dumps(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _key(key: Any) -> str:
    """An object key as json.dumps writes it: text as is, null, true, false and numbers as their JSON text."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise TypeError(f"cannot encode a {type(key).__name__} key as JSON")


def _block(opening: str, items: list[str], closing: str, depth: int, indent: int | None) -> str:
    if not items:
        return opening + closing
    if indent is None:
        return opening + ",".join(items) + closing
    inner, outer = "\n" + " " * indent * (depth + 1), "\n" + " " * indent * depth
    return opening + inner + ("," + inner).join(items) + outer + closing


def loads(text: str) -> Any:
    """JSON as written by dumps, with every fractional number read back exactly as a Decimal."""
    return json.loads(text, parse_float=Decimal)
