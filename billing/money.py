"""Decimal money and quantities: rounding and JSON output. No binary floating point in any sum."""
from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


def round_half_up(value: Decimal, places: Decimal = CENT) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


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


def json_number(value: Decimal) -> int | float:
    """A JSON number: integral values print without a fraction; others as their shortest float form,
    which is exact for the few decimals we emit (cents, percentages)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return json_number(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(document: Any) -> str:
    return json.dumps(document, default=_json_default, indent=2)
