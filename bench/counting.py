"""Counting the AWS requests the runtime makes, from botocore's own events.

The handlers share one boto3 client per service (`comeback.wiring.client`). Hooking that
client's event system sees every request the product makes without changing product code:
`before-parameter-build` gives the request's parameters (keys asked, items written),
`after-call` gives the response (items returned, a failed condition). Both carry the same
per-request `context` dict, which ties them together.

Capacity units are estimates from item sizes by DynamoDB's sizing rules (moto does not report
consumed capacity); on-demand tables bill one read request unit per 4 KB read strongly
consistently (half for eventually consistent reads) and one write request unit per 1 KB
written, rounded up per item.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_SHOP_IN_KEY = re.compile(r"SHOP#([a-z0-9][a-z0-9-]*)")
_SHOP_IN_BODY = re.compile(r'"shop_id":\s*"([a-z0-9][a-z0-9-]*)"')
_CONTEXT_KEY = "comeback_bench_call"


@dataclass
class Call:
    """One API request as the bench sees it."""

    operation: str
    shops: frozenset[str] = frozenset()
    sort_key: str | None = None  # of the one item a GetItem, PutItem or UpdateItem names
    keys_read: int = 0  # keys asked for by GetItem / BatchGetItem
    items_returned: int = 0  # items in the response (GetItem, BatchGetItem, Query)
    writes: Counter[str] = field(default_factory=Counter)  # table -> items put or deleted
    largest_put: int = 0  # bytes of the largest item put
    entries: int = 0  # SQS batch entries
    read_units: float = 0.0
    write_units: float = 0.0
    error: str | None = None

    def concerns(self, shop_id: str) -> bool:
        """Whether the request is (also) for this shop, or for no shop in particular."""
        return not self.shops or self.shops == {shop_id}


class CallLog:
    """Every request one client makes, until `reset()`."""

    def __init__(self, client: Any) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._requests = 0  # since the start, like the attempts
        self._attempts = 0
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-parameter-build.{service}", self._before)
        client.meta.events.register(f"after-call.{service}", self._after)
        client.meta.events.register(f"before-send.{service}", self._send)

    def reset(self) -> None:
        with self._lock:
            self._calls = []

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def retries(self) -> int:
        """HTTP attempts beyond one per request since the start (throttling, errors)."""
        with self._lock:
            return self._attempts - self._requests

    def _send(self, **_: Any) -> None:
        with self._lock:
            self._attempts += 1

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        call = Call(operation=model.name, shops=_shops_in(params))
        _describe_request(call, params)
        context[_CONTEXT_KEY] = (call, params)
        with self._lock:
            self._calls.append(call)
            self._requests += 1

    def _after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call, params = context.get(_CONTEXT_KEY, (None, None))
        if call is None:
            return
        call.error = parsed.get("Error", {}).get("Code")
        _describe_response(call, params, parsed)


def _shops_in(params: dict[str, Any]) -> frozenset[str]:
    text = repr(params)
    return frozenset(_SHOP_IN_KEY.findall(text)) | frozenset(_SHOP_IN_BODY.findall(text))


def _describe_request(call: Call, params: dict[str, Any]) -> None:
    operation = call.operation
    key = params.get("Key") or params.get("Item") or {}
    call.sort_key = key.get("sk", {}).get("S")
    if operation == "GetItem":
        call.keys_read = 1
    elif operation == "BatchGetItem":
        call.keys_read = sum(len(spec["Keys"]) for spec in params["RequestItems"].values())
    elif operation == "PutItem":
        call.writes[params["TableName"]] += 1
        call.write_units = write_units(params["Item"])
        call.largest_put = item_size(params["Item"])
    elif operation in ("UpdateItem", "DeleteItem"):
        call.writes[params["TableName"]] += 1
        call.write_units = 1  # at least; the stored item's size is not in the request
    elif operation == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            for request in requests:
                call.writes[table] += 1
                put = request.get("PutRequest")
                call.write_units += write_units(put["Item"]) if put else 1
                if put:
                    call.largest_put = max(call.largest_put, item_size(put["Item"]))
    elif operation == "SendMessageBatch":
        call.entries = len(params["Entries"])


def _describe_response(call: Call, params: dict[str, Any], parsed: dict[str, Any]) -> None:
    operation = call.operation
    if operation == "GetItem":
        item = parsed.get("Item")
        consistent = params.get("ConsistentRead", False)
        call.items_returned = 1 if item else 0
        # A key that finds no item still costs a minimal read.
        call.read_units = read_units([item], consistent) if item else (1 if consistent else 0.5)
    elif operation == "BatchGetItem":
        unprocessed = sum(len(s["Keys"]) for s in parsed.get("UnprocessedKeys", {}).values())
        for table, items in parsed.get("Responses", {}).items():
            consistent = params["RequestItems"][table].get("ConsistentRead", False)
            call.items_returned += len(items)
            call.read_units += sum(read_units([item], consistent) for item in items)
        # A key that finds no item still costs a minimal read.
        missing = call.keys_read - unprocessed - call.items_returned
        consistent = any(s.get("ConsistentRead") for s in params["RequestItems"].values())
        call.read_units += missing * (1 if consistent else 0.5)
    elif operation == "Query":
        items = parsed.get("Items", [])
        call.items_returned = len(items)
        # A query rounds the total size of what it read; index queries are eventually consistent.
        total = sum(item_size(item) for item in items)
        factor = 1 if params.get("ConsistentRead") else 0.5
        call.read_units = max(1, math.ceil(total / 4096)) * factor


def read_units(items: Iterable[dict[str, Any]], consistent: bool) -> float:
    factor = 1 if consistent else 0.5
    return sum(max(1, math.ceil(item_size(item) / 4096)) * factor for item in items)


def write_units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(item_size(item) / 1024))


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in data.items())
    raise ValueError(f"unknown attribute type {kind}")


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return 1 + (len(digits) + 1) // 2


def by_operation(calls: Iterable[Call]) -> Counter[str]:
    return Counter(call.operation for call in calls)
