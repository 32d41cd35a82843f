"""JSON in and out with exact money: numbers are read as Decimal and written back as numbers."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from comeback.clock import iso


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money is bounded (see commerce.MAX_AMOUNT) and short, so the shortest float repr
        # reproduces the decimal text exactly; loads() turns it back into the same Decimal.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)
