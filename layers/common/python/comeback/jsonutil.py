"""JSON in and out with exact numbers: numbers are read as Decimal and written back as the same
number text, however many digits (the queue must not round a price through a float)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from comeback.clock import iso


def dumps(value: Any, *, ascii_only: bool = False) -> str:
    """JSON text; `ascii_only` escapes everything outside ASCII (safe for any transport)."""
    exact: dict[str, str] = {}
    nonce = secrets.token_hex(8)

    def default(item: Any) -> Any:
        if isinstance(item, Decimal):
            if not item.is_finite():
                raise ValueError("NaN and Infinity are not JSON numbers")
            as_float = float(item)
            if Decimal(repr(as_float)) == item:
                return int(item) if item == item.to_integral_value() else as_float
            # Too many digits for a float: put a placeholder, swapped for the exact text below.
            token = f"\x00{nonce}:{len(exact)}\x00"
            exact[json.dumps(token, ensure_ascii=ascii_only)] = str(item)
            return token
        if isinstance(item, datetime):
            return iso(item)
        if isinstance(item, set | frozenset):
            return sorted(item)
        raise TypeError(f"cannot serialise {type(item).__name__}")

    text = json.dumps(value, default=default, separators=(",", ":"), ensure_ascii=ascii_only)
    for token, number in exact.items():
        text = text.replace(token, number)
    return text


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)
