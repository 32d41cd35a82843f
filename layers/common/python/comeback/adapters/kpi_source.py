"""Reads the records a shop's key figures are computed from (see `comeback.domain.kpis`).

What it costs: one filtered Scan of the main table per report. DynamoDB reads every item of
the table (all shops) and bills for all of it, about 0.5 read request units per 4 KB
scanned (eventually consistent), whatever the filter keeps: roughly 131,000 read units per GB
of table. That is fine for a report a shop owner asks for now and then, never for a request
path. The filter returns only this shop's profiles, send records and the raw events that
matter (orders and cart activity), so the transfer stays in proportion to the shop.

Raw events expire after the processor's `event_retention_days` (400 by default), so figures
for ranges older than that lose their orders; a customer's first order comes from the
profile's counters, which do not expire.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from comeback import keys
from comeback.adapters.dynamo_types import from_item, to_value
from comeback.clock import parse_iso
from comeback.domain import commerce
from comeback.domain.kpis import (
    CartActivity,
    JourneyEntry,
    Order,
    Send,
    ShopRecords,
    Unsubscribe,
    journey_entry,
)
from comeback.models.shop import Shop

UNSUBSCRIBE_SOURCE = "unsubscribe_link"
# The raw events the figures read: orders, and what starts or fills a cart.
KPI_EVENTS = (
    commerce.ORDER_COMPLETED,
    commerce.PRODUCT_ADDED,
    commerce.CART_VIEWED,
    commerce.CHECKOUT_STARTED,
)
_ATTRIBUTES = {
    "#pk": "pk",
    "#kind": "kind",
    "#event": "event",
    "#ts": "timestamp",
    "#status": "status",
    "#profile": "profile_id",
    "#body": "body",
    "#merged": "merged_into",
    "#orders": "orders",
    "#consent": "consent",
    "#message_kind": "message_kind",
    "#channel": "channel",
    "#created": "created_at",
    "#finished": "finished_at",
    "#clicks": "clicks",
    # A journey's step and a skip's reason. Neither is a DynamoDB reserved word today, but
    # every name here goes through a placeholder, so a future one cannot break the scan.
    "#step": "step",
    "#detail": "detail",
}


@dataclass
class ScanCounts:
    """What one read found, for the report's log line (no personal data)."""

    items: int = 0
    pages: int = 0
    unreadable_events: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class KpiSource:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self.counts = ScanCounts()

    def shop(self, shop_id: str) -> Shop | None:
        """The shop's settings (one GetItem)."""
        response = self._client.get_item(
            TableName=self._table,
            Key={"pk": to_value(keys.shop_pk(shop_id)), "sk": to_value(keys.SHOP_SK)},
        )
        item = response.get("Item")
        return Shop.model_validate(from_item(item)) if item else None

    def records(self, shop_id: str) -> ShopRecords:
        """Every order, cart activity, send, journey entry and link unsubscribe of one shop,
        each attributed to the profile it ended up in (a merged profile's history counts for
        the survivor)."""
        self.counts = ScanCounts()
        profiles: dict[str, dict[str, Any]] = {}
        events: list[dict[str, Any]] = []
        sends: list[dict[str, Any]] = []
        for item in self._scan(shop_id):
            kind = item.get("kind")
            self.counts.by_kind[kind] = self.counts.by_kind.get(kind, 0) + 1
            if kind == "profile":
                profiles[item["profile_id"]] = item
            elif kind == "event":
                events.append(item)
            elif kind == "send":
                sends.append(item)
        survivor = _survivors(profiles)
        records = ShopRecords()
        for item in events:
            customer = survivor(item.get("profile_id"))
            if customer is None or not item.get("timestamp"):
                continue
            self._add_event(records, customer, item)
        for item in sends:
            customer = survivor(item.get("profile_id"))
            if customer is None:
                continue
            entry = entry_from_send(item, customer)
            if entry is not None:
                records.entries.append(entry)
            at = item.get("finished_at") or item.get("created_at")
            if not at:
                continue
            records.sends.append(
                Send(
                    customer_id=customer,
                    kind=str(item.get("message_kind") or ""),
                    channel=item.get("channel"),
                    status=str(item.get("status") or ""),
                    at=parse_iso(at),
                    clicks=int(item.get("clicks") or 0),
                )
            )
        for profile_id, item in profiles.items():
            if item.get("merged_into"):
                continue
            first = (item.get("orders") or {}).get("first_at")
            if first:
                records.first_orders[profile_id] = parse_iso(first)
            email = (item.get("consent") or {}).get("email") or {}
            if email.get("source") == UNSUBSCRIBE_SOURCE and not email.get("granted"):
                records.unsubscribes.append(Unsubscribe(profile_id, parse_iso(email["at"])))
        return records

    def _add_event(self, records: ShopRecords, customer: str, item: dict[str, Any]) -> None:
        at = parse_iso(item["timestamp"])
        name = item.get("event")
        try:
            body = json.loads(item.get("body") or "{}")
            props = commerce.parse_properties(name, body.get("properties") or {})
        except (ValueError, ValidationError):
            # Intake validated it already; a record that no longer reads is counted, not fatal.
            self.counts.unreadable_events += 1
            return
        if name == commerce.ORDER_COMPLETED and isinstance(props, commerce.OrderProps):
            # Orders without an id count once per event (the key is the event's own).
            order_id = f"order:{props.order_id}" if props.order_id else f"event:{item['pk']}"
            records.orders.append(Order(customer, at, props.order_value(), order_id))
        elif name == commerce.CART_VIEWED and not (
            isinstance(props, commerce.CartProps) and props.products
        ):
            return  # an empty cart looked at starts nothing
        elif name in KPI_EVENTS:
            records.cart_activity.append(CartActivity(customer, at))

    def _scan(self, shop_id: str) -> Iterator[dict[str, Any]]:
        values = {
            ":prefix": to_value(keys.shop_pk(shop_id) + "#"),
            ":profile": to_value("profile"),
            ":send": to_value("send"),
            ":event": to_value("event"),
            **{f":e{i}": to_value(name) for i, name in enumerate(KPI_EVENTS)},
        }
        names = ", ".join(f":e{i}" for i in range(len(KPI_EVENTS)))
        request: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(#pk, :prefix) AND (#kind IN (:profile, :send) OR "
            f"(#kind = :event AND #event IN ({names})))",
            "ProjectionExpression": ", ".join(_ATTRIBUTES),
            "ExpressionAttributeNames": _ATTRIBUTES,
            "ExpressionAttributeValues": values,
        }
        while True:
            page = self._client.scan(**request)
            self.counts.pages += 1
            for raw in page["Items"]:
                self.counts.items += 1
                yield from_item(raw)
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def entry_from_send(item: dict[str, Any], customer_id: str) -> JourneyEntry | None:
    """The journey entry a send record stands for (see `comeback.domain.kpis.journey_entry`),
    for `customer_id`: the profile the record's one ended up in. Entered when the record was
    created (the step fell due), not when it finished."""
    created = item.get("created_at")
    if not created:
        return None
    step = item.get("step")  # a number (Decimal) when present; absent on older records
    return journey_entry(
        customer_id,
        kind=str(item.get("message_kind") or ""),
        step=None if step is None else int(step),
        status=str(item.get("status") or ""),
        detail=item.get("detail"),
        at=parse_iso(created),
    )


def _survivors(profiles: dict[str, dict[str, Any]]) -> Callable[[str | None], str | None]:
    """profile id -> the profile it was merged into in the end (itself if never merged);
    None for a profile no longer on file (erased)."""

    def survivor(profile_id: str | None) -> str | None:
        seen: set[str] = set()
        while profile_id is not None and profile_id not in seen:
            item = profiles.get(profile_id)
            if item is None:
                return None
            seen.add(profile_id)
            target = item.get("merged_into")
            if not target:
                return profile_id
            profile_id = target
        return None

    return survivor
