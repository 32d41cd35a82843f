"""Conversion between plain Python values and DynamoDB's typed attribute values."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from comeback.clock import iso

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def plain(value: Any) -> Any:
    """Values DynamoDB can hold: times as ISO text, floats as Decimal, no None in maps."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()  # a calendar day
    if isinstance(value, time):
        return value.isoformat(timespec="minutes")  # a wall-clock time (quiet hours)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in plain(values).items()}


def to_value(value: Any) -> dict[str, Any]:
    return _serializer.serialize(plain(value))


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}
