"""DynamoDB requests per event, by event type: what each tracked event costs on AWS.

Each scenario posts its setup events over HTTP and lets the processor apply them, then posts
the one event measured and counts only what the processor asks of DynamoDB while applying it
(counters are reset right before the queue is drained). The intake's own requests for the
same HTTP call are counted separately.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from comeback import wiring
from comeback.local.stack import LocalStack
from comeback.services.shops import ShopKeys
from comeback.settings import ProcessorSettings, load
from counting import Call, CallLog, by_operation

# Short names keep the "requests by operation" column narrow.
_SHORT = {
    "GetItem": "Get",
    "BatchGetItem": "BatchGet",
    "PutItem": "Put",
    "UpdateItem": "Update",
    "DeleteItem": "Delete",
    "BatchWriteItem": "BatchWrite",
    "Query": "Query",
    "TransactWriteItems": "TransactWrite",
}

Post = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: list[Post]
    measured: Post


@dataclass(frozen=True)
class EventCost:
    scenario: str
    processor: list[Call]
    intake_dynamodb: list[Call]
    intake_sqs: list[Call]


def _identify(user: str) -> Post:
    return (
        "identify",
        {
            "userId": user,
            "anonymousId": f"anon-{user}",
            "messageId": f"{user}-identify",
            "traits": {
                "email": f"{user}@example.com",
                "email_consent": True,
                "first_name": "Ann",
                "plan": "gold",
            },
        },
    )


def _track(user: str, event: str, message_id: str, properties: dict[str, Any]) -> Post:
    return (
        "track",
        {
            "userId": user,
            "anonymousId": f"anon-{user}",
            "messageId": message_id,
            "event": event,
            "properties": properties,
        },
    )


def _page(user: str, message_id: str) -> Post:
    return (
        "page",
        {
            "userId": user,
            "anonymousId": f"anon-{user}",
            "messageId": message_id,
            "name": "Home",
            "properties": {"url": "https://shop.example.com/", "title": "Home"},
        },
    )


def _product(product_id: str, price: float) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "sku": f"SKU-{product_id}",
        "name": f"Product {product_id}",
        "price": price,
        "quantity": 1,
        "url": f"https://shop.example.com/p/{product_id}",
    }


def scenarios() -> list[Scenario]:
    """The event types that matter, each on a person in the state the name says."""
    added = _track("carol", "Product Added", "carol-add-1", _product("p1", 19.9))
    return [
        Scenario("identify, new person (userId+anonymousId+email)", [], _identify("ann")),
        Scenario("page, known person", [_identify("bob")], _page("bob", "bob-page-1")),
        Scenario(
            # In steady state a profile holds the digests of its last 20 events.
            "page, regular (20+ events seen, cart of 2)",
            [
                _identify("fay"),
                _track("fay", "Product Added", "fay-add-1", _product("p1", 19.9)),
                _track("fay", "Product Added", "fay-add-2", _product("p2", 5.0)),
                *[_page("fay", f"fay-page-{i}") for i in range(18)],
            ],
            _page("fay", "fay-page-last"),
        ),
        Scenario("track Product Added, known person, empty cart", [_identify("carol")], added),
        Scenario(
            "track Product Removed, cart of 2 lines -> 1",
            [
                _identify("dan"),
                _track("dan", "Product Added", "dan-add-1", _product("p1", 19.9)),
                _track("dan", "Product Added", "dan-add-2", _product("p2", 5.0)),
            ],
            _track("dan", "Product Removed", "dan-remove-2", {"product_id": "p2"}),
        ),
        Scenario(
            "track Order Completed, known person, open cart",
            [_identify("eve"), _track("eve", "Product Added", "eve-add-1", _product("p1", 19.9))],
            _track(
                "eve",
                "Order Completed",
                "eve-order-1",
                {
                    "order_id": "o-1",
                    "total": 24.9,
                    "currency": "USD",
                    "products": [_product("p1", 19.9)],
                },
            ),
        ),
        Scenario("duplicate delivery of an applied event", [], added),
        Scenario(
            "track, new anonymous visitor",
            [],
            (
                "track",
                {
                    "anonymousId": "anon-visitor",
                    "messageId": "visitor-view-1",
                    "event": "Product Viewed",
                    "properties": _product("p3", 42.0),
                },
            ),
        ),
    ]


def post(api_url: str, write_key: str, path: str, body: dict[str, Any]) -> None:
    """A tracking call as a shop's site makes it: HTTP Basic with the write key as user."""
    auth = base64.b64encode(f"{write_key}:".encode()).decode()
    request = urllib.request.Request(
        f"{api_url}/v1/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 200:
            raise RuntimeError(f"intake answered {response.status}")


def measure(stack: LocalStack, shop: ShopKeys, dynamodb: CallLog, sqs: CallLog) -> list[EventCost]:
    """Apply each scenario's setup, then count the requests of its one measured event."""
    clock = stack.clock
    if clock is None:
        raise ValueError("the bench needs a stack on a simulated clock")
    settings = load(ProcessorSettings)

    def send(call: Post) -> None:
        clock.set(clock.now() + timedelta(minutes=1))  # events in a clear order
        post(stack.api.url, shop.write_key, *call)

    def drain(expected: int) -> None:
        result = stack.process_events()
        if result.succeeded != expected or result.failed_attempts:
            raise RuntimeError(f"processor: {result} (expected {expected} applied)")

    # Warm the two caches every warm Lambda instance has: the intake's write-key lookup and
    # the processor's shop settings (each one GetItem per shop per minute per instance).
    send(("page", {"anonymousId": "warm-up", "messageId": "warm-up", "name": "Home"}))
    drain(1)
    costs = []
    for scenario in scenarios():
        for call in scenario.setup:
            send(call)
        drain(len(scenario.setup))
        wiring.shop(settings, shop.shop_id)  # keep the shop cache warm whatever the pace
        dynamodb.reset()
        sqs.reset()
        send(scenario.measured)
        intake_dynamodb, intake_sqs = dynamodb.calls(), sqs.calls()
        dynamodb.reset()
        drain(1)
        costs.append(EventCost(scenario.name, dynamodb.calls(), intake_dynamodb, intake_sqs))
    return costs


def rows(costs: list[EventCost], main_table: str, timers_table: str) -> list[list[object]]:
    def ops(calls: list[Call]) -> str:
        counted = by_operation(calls)
        return ", ".join(f"{_SHORT.get(op, op)} {n}" for op, n in sorted(counted.items()))

    def total(calls: list[Call], value: Callable[[Call], float]) -> float:
        return sum(value(call) for call in calls)

    out: list[list[object]] = []
    for cost in costs:
        calls = cost.processor
        out.append(
            [
                cost.scenario,
                len(calls),
                ops(calls),
                total(calls, lambda c: c.keys_read),
                total(calls, lambda c: c.items_returned),
                total(calls, lambda c: c.writes[main_table]),
                total(calls, lambda c: c.writes[timers_table]),
                total(calls, lambda c: c.read_units),
                total(calls, lambda c: c.write_units),
                max((c.largest_put for c in calls), default=0),
                len(cost.intake_dynamodb),
                len(cost.intake_sqs),
            ]
        )
    return out


HEADERS = [
    "scenario (processor applying ONE event)",
    "requests",
    "by operation",
    "keys read",
    "items found",
    "items written",
    "timers written",
    "~RRU",
    "~WRU",
    "largest put B",
    "intake DDB",
    "intake SQS",
]
