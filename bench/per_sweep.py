"""Reads per sweep against the number of due items, over a constant background not due.

A fresh shop per N, so each row starts from the same state: 1,000 customers whose cart falls
due this evening (the same day's due partition as the N due carts, later in it) and whose
win-back is 90 days away, i.e. 2,000 timers not due, plus N carts due this morning. The
timers are written through the Store (`apply_timers`), as the processor would write them,
from a few threads: thousands of events through the HTTP API would take minutes on moto.

The sweep is the real handler. It visits every shop of the stack, so only the requests that
concern the shop of the row (or no shop: the shop registry) are counted. A priming sweep
before the timers exist sets the shop's cursor to today, as in steady state.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from comeback.adapters.store import Store
from comeback.clock import SimulatedClock, iso
from comeback.domain.timers import CART_RECOVERY, REACTIVATION, TimerChange
from comeback.keys import SWEEP_CURSOR_SK
from comeback.local.stack import LocalStack
from comeback.models.shop import ShopSettings
from comeback.services.shops import create_shop
from counting import Call, CallLog

BACKGROUND_PROFILES = 1_000  # two timers each: cart this evening, win-back in 90 days
WRITER_THREADS = 4


@dataclass(frozen=True)
class SweepCost:
    due: int
    timers: int
    first: list[Call]
    repeat: list[Call]


def _fill(store: Store, shop_id: str, due: int, morning: datetime) -> int:
    """N carts due at 08:30 and the background not due; returns the number of timers."""
    abandoned = morning - timedelta(hours=1)
    evening = morning.replace(hour=20)

    def due_cart(i: int) -> None:
        change = TimerChange(CART_RECOVERY, morning + timedelta(minutes=30), iso(abandoned))
        store.apply_timers(shop_id, f"due-{i}", [change], abandoned)

    def background(i: int) -> None:
        changes = [
            TimerChange(CART_RECOVERY, evening, iso(evening - timedelta(hours=1))),
            TimerChange(REACTIVATION, morning + timedelta(days=90), iso(morning)),
        ]
        store.apply_timers(shop_id, f"later-{i}", changes, morning)

    with ThreadPoolExecutor(WRITER_THREADS) as pool:
        list(pool.map(due_cart, range(due)))
        list(pool.map(background, range(BACKGROUND_PROFILES)))
    return due + 2 * BACKGROUND_PROFILES


def measure(
    stack: LocalStack,
    clock: SimulatedClock,
    day: datetime,
    dues: list[int],
    dynamodb: CallLog,
    sqs: CallLog,
) -> list[SweepCost]:
    """One cart_recovery sweep (and an immediate repeat) per N, on a fresh shop."""
    store = stack.store()
    sweep = stack.functions["sweep"]
    morning = day.replace(hour=8, minute=0)
    costs = []
    for due in dues:
        shop_id = f"bench-sweep-{due}"
        create_shop(
            store,
            shop_id=shop_id,
            name=f"Sweep bench {due}",
            settings=ShopSettings(from_address="hello@shop.example.com"),
            now=morning - timedelta(days=1),
        )
        clock.set(day.replace(hour=0, minute=5))
        sweep.invoke({"sweep": CART_RECOVERY})  # priming: cursor to today
        timers = _fill(store, shop_id, due, morning)
        clock.set(morning + timedelta(hours=1))
        runs: list[list[Call]] = []
        for _ in range(2):
            dynamodb.reset()
            sqs.reset()
            sweep.invoke({"sweep": CART_RECOVERY})
            runs.append([c for c in dynamodb.calls() + sqs.calls() if c.concerns(shop_id)])
        costs.append(SweepCost(due, timers, *runs))
    _retire(stack, [f"bench-sweep-{due}" for due in dues])
    return costs


def _retire(stack: LocalStack, shop_ids: list[str]) -> None:
    """Take the measured shops off the sweeps' list (their background timers would fall due
    in the send benchmark's week, and its sweeps would send them all first)."""
    from comeback import keys
    from comeback.adapters.dynamo_types import to_item

    stack.aws.client("dynamodb").update_item(
        TableName=stack.aws.table_name,
        Key=to_item({"pk": keys.SHOP_REGISTRY_PK, "sk": keys.SHOP_REGISTRY_PK}),
        UpdateExpression="DELETE shop_ids :shops",
        ExpressionAttributeValues={":shops": {"SS": sorted(shop_ids)}},
    )


def _count(calls: list[Call], operation: str) -> int:
    return sum(1 for call in calls if call.operation == operation)


def rows(costs: list[SweepCost]) -> list[list[object]]:
    out: list[list[object]] = []
    for cost in costs:
        calls, repeat = cost.first, cost.repeat
        claims = [c for c in calls if c.operation == "UpdateItem" and c.sort_key != SWEEP_CURSOR_SK]
        cursor = [c for c in calls if c.operation == "UpdateItem" and c.sort_key == SWEEP_CURSOR_SK]
        reads = [c for c in calls if c.operation in ("GetItem", "Query")]
        sends = [c for c in calls if c.operation == "SendMessageBatch"]
        out.append(
            [
                cost.due,
                cost.timers,
                _count(calls, "GetItem"),
                _count(calls, "Query"),
                sum(c.items_returned for c in calls if c.operation == "Query"),
                sum(1 for c in claims if c.error is None),
                sum(1 for c in claims if c.error is not None),
                len(cursor),
                len(sends),
                sum(c.entries for c in sends),
                sum(c.read_units for c in reads),
                sum(c.write_units for c in claims + cursor),
                len([c for c in repeat if c.operation in ("GetItem", "Query")]),
                sum(c.items_returned for c in repeat if c.operation == "Query"),
            ]
        )
    return out


HEADERS = [
    "due N",
    "timers in shop",
    "GetItem",
    "Query pages",
    "items queried",
    "claims",
    "refused",
    "cursor",
    "SQS batches",
    "jobs",
    "~RRU",
    "~WRU",
    "repeat: reads",
    "repeat: items",
]
