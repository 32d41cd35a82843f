"""Replaying real Retail Rocket visitor histories through the cart journey on the local stack.

The sample (examples/data/README.md) holds views, add-to-carts and purchases of 1,500
visitors, with millisecond timestamps. That is what the abandoned-cart journey acts on, so
unlike CDNOW (a day's orders at a time) the replay has to keep each event at its own moment
and run the sweeps on a schedule fine enough for steps that fall due half an hour apart.

The data has no contact details and no prices. Every visitor who adds to cart gets a
**synthetic**, deterministic identity from the shop's backend (secret key): `rr-<visitorid>`
as user id, `rr-<visitorid>@example.com` (a reserved domain, RFC 2606) with email consent.
Nobody has a browser push subscription, so a push-only step is skipped for lack of consent.
Products carry no price; orders carry no total (their value is 0).

Only visitors who add to cart or buy can start or end a cart journey; `histories_of` picks
their whole histories (310 of the 2,771 rows), which replay in well under a minute, where
every row takes a few minutes (the views cost the processor as much as anything else).
Who is held out of a journey is a hash of the user id, so the figures are the same on every
run.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import Any, TextIO

from comeback.adapters.store import Store
from comeback.clock import SimulatedClock, iso, parse_iso
from comeback.domain import commerce
from comeback.domain.journeys import HOLDOUT, NEVER_ENTERED, journey_for
from comeback.domain.timers import CART_RECOVERY, SWEEP_KINDS
from comeback.local.datasets import examples_dir
from comeback.local.replay import TrackingClient
from comeback.local.stack import LocalStack
from comeback.models.journey import Journey
from comeback.models.shop import ShopSettings
from comeback.services.shops import create_shop

SAMPLE = "retailrocket_events_sample.csv"
VIEW, ADD_TO_CART, TRANSACTION = "view", "addtocart", "transaction"
# How often the cart sweeps run (an EventBridge rate): a step goes out at most this late.
SWEEP_EVERY = timedelta(minutes=10)
_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RetailRocketEvent:
    row: int  # 1-based line number in the file: the event's stable id (rows can repeat)
    at: datetime
    visitor_id: str
    event: str  # view, addtocart or transaction
    item_id: str
    transaction_id: str | None


def sample_path() -> Path:
    return examples_dir() / SAMPLE


def read_events(path: Path) -> list[RetailRocketEvent]:
    """The file's rows, typed, in time order (rows of the same millisecond in file order)."""
    events: list[RetailRocketEvent] = []
    with path.open(encoding="ascii", newline="") as lines:
        for number, row in enumerate(csv.DictReader(lines), start=2):
            if row["event"] not in (VIEW, ADD_TO_CART, TRANSACTION):
                raise ValueError(f"{path.name}:{number}: unknown event {row['event']!r}")
            # Transaction ids come as "14418.0" (the column is read as floats upstream).
            transaction = row["transactionid"].strip()
            events.append(
                RetailRocketEvent(
                    row=number,
                    at=datetime.fromtimestamp(int(row["timestamp"]) / 1000, tz=UTC),
                    visitor_id=row["visitorid"],
                    event=row["event"],
                    item_id=row["itemid"],
                    transaction_id=str(int(float(transaction))) if transaction else None,
                )
            )
    return sorted(events, key=lambda e: (e.at, e.row))


def journey_visitors(events: Iterable[RetailRocketEvent]) -> set[str]:
    """Visitors who add to cart or buy: only their histories can start or end a cart
    journey (a visitor who only looks at products never has a cart)."""
    return {e.visitor_id for e in events if e.event in (ADD_TO_CART, TRANSACTION)}


def histories_of(
    events: Iterable[RetailRocketEvent], visitors: set[str]
) -> list[RetailRocketEvent]:
    """The whole histories (views included) of the chosen visitors, in time order."""
    return [e for e in events if e.visitor_id in visitors]


def user_id(visitor_id: str) -> str:
    return f"rr-{visitor_id}"


def anonymous_id(visitor_id: str) -> str:
    # The visitor id is Retail Rocket's own cookie-like id: the browser's anonymous id.
    return f"rr-visitor-{visitor_id}"


def synthetic_email(visitor_id: str) -> str:
    return f"rr-{visitor_id}@example.com"


@dataclass(frozen=True)
class Call:
    """One tracking call at its moment: from the shop's backend (secret key) or the browser."""

    at: datetime
    backend: bool
    message: dict[str, Any]
    # Whether it can make a timer fall due sooner (a cart change, an order, a new identity):
    # the replay looks for due timers again after one.
    moves_timers: bool


def to_calls(events: list[RetailRocketEvent]) -> list[Call]:
    """Segment e-commerce calls for the events, in time order.

    view -> `Product Viewed`, addtocart -> `Product Added` (quantity 1) from the browser;
    the rows of one transaction (one per item) -> one `Order Completed` from the backend at
    the first row's moment, with the items as products. A visitor who ever adds to cart is
    identified by the backend at their first event, so consent is on record before any
    step of their journey can fall due."""
    carting = {e.visitor_id for e in events if e.event == ADD_TO_CART}
    first_seen: dict[str, datetime] = {}
    orders: dict[tuple[str, str], list[RetailRocketEvent]] = {}
    for event in events:
        first_seen.setdefault(event.visitor_id, event.at)
        if event.event == TRANSACTION:
            key = (event.visitor_id, event.transaction_id or f"row-{event.row}")
            orders.setdefault(key, []).append(event)
    calls: list[tuple[datetime, int, Call]] = []
    for visitor in sorted(carting, key=int):
        at = first_seen[visitor]
        calls.append((at, 0, Call(at, True, _identify(visitor, at), moves_timers=True)))
    for event in events:
        if event.event == TRANSACTION:
            continue
        name = commerce.PRODUCT_ADDED if event.event == ADD_TO_CART else commerce.PRODUCT_VIEWED
        properties: dict[str, Any] = {"product_id": event.item_id}
        if event.event == ADD_TO_CART:
            properties["quantity"] = 1
        message = _track(event.visitor_id, name, event.at, f"row-{event.row}", properties)
        calls.append(
            (event.at, event.row, Call(event.at, False, message, event.event == ADD_TO_CART))
        )
    for (visitor, order_id), rows in orders.items():
        first = rows[0]
        properties = {
            "order_id": order_id,
            "products": [{"product_id": row.item_id, "quantity": 1} for row in rows],
        }
        message = _track(
            visitor, commerce.ORDER_COMPLETED, first.at, f"order-{order_id}", properties
        )
        calls.append((first.at, first.row, Call(first.at, True, message, moves_timers=True)))
    return [call for _, _, call in sorted(calls, key=lambda c: (c[0], c[1]))]


def _identify(visitor: str, at: datetime) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": f"rr-identify-{visitor}",
        "userId": user_id(visitor),
        "anonymousId": anonymous_id(visitor),
        "timestamp": iso(at),
        "traits": {
            "email": synthetic_email(visitor),
            "consent": {"email": True},
            "synthetic_contact": True,
        },
    }


def _track(
    visitor: str, event: str, at: datetime, message_id: str, properties: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "messageId": f"rr-{message_id}",
        "anonymousId": anonymous_id(visitor),
        "timestamp": iso(at),
        "properties": properties,
    }


def journey_horizon(journey: Journey) -> timedelta:
    """How long after the last event a cart journey can still fall due: a re-entered
    journey's first step waits out the cooldown, its last step comes its delay after that,
    and a step held over quiet hours can wait up to a day more."""
    last = journey.steps[-1].delay_minutes
    return timedelta(days=journey.reentry_cooldown_days + 1, minutes=last)


def shop_horizon(stack: LocalStack, shop_id: str) -> timedelta:
    journey = journey_for(CART_RECOVERY, _settings(stack, shop_id))
    return journey_horizon(journey) if journey else timedelta(0)


@dataclass
class ReplayRun:
    """What the driver did (what happened to people is read back from the table)."""

    calls: int = 0
    posts: int = 0
    sweeps: list[datetime] = field(default_factory=list)
    last_sweep: datetime | None = None


def replay(
    stack: LocalStack,
    browser: TrackingClient,
    backend: TrackingClient,
    shop_id: str,
    calls: list[Call],
    *,
    every: timedelta = SWEEP_EVERY,
    horizon: timedelta | None = None,
) -> ReplayRun:
    """Post each call on the simulated clock at its moment and run the sweeps every `every`
    (on a fixed grid of the UTC day) while a timer can fall due, until `horizon` after the
    last call (by default: as long as the shop's cart journey can still fall due).

    A sweep that finds nothing due changes nothing, so the driver only runs those that will
    find something: it asks the due index (as a sweep does) for the next timer and jumps
    the clock over the idle stretch before it. Calls between two sweeps go in one request,
    in time order, with the clock at the last one's moment: each is on the stack before any
    later sweep and after every earlier one, as if posted at its own moment."""
    assert stack.clock is not None
    store = stack.store()
    run = ReplayRun(calls=len(calls))
    if not calls:
        return run
    end = calls[-1].at + (shop_horizon(stack, shop_id) if horizon is None else horizon)
    index = 0
    # The earliest timer known per sweep kind, the due partitions read for them, and the
    # first day whose partitions may have changed since.
    due: dict[str, datetime] = {}
    checked_through = calls[0].at.date() - timedelta(days=1)
    written_from: date | None = calls[0].at.date()
    while True:
        upcoming = calls[index].at if index < len(calls) else None
        limit = (upcoming or end).date()
        today = stack.clock.now().date()
        if written_from is not None or checked_through < limit:
            start = written_from or checked_through + timedelta(days=1)
            found, checked_through = next_due(store, shop_id, start, limit, today)
            for kind, at in found.items():
                due[kind] = min(at, due.get(kind, at))
        written_from = None
        sweep_at = None
        if due:
            sweep_at = _next_sweep(max(min(due.values()), stack.clock.now()), run.last_sweep, every)
        if sweep_at is not None and sweep_at <= end and (upcoming is None or sweep_at < upcoming):
            _tick(stack, sweep_at, [kind for kind, at in due.items() if at <= sweep_at])
            run.sweeps.append(sweep_at)
            run.last_sweep = sweep_at
            # Everything due was claimed: what is left or new sits from today's partition on.
            due, written_from = {}, sweep_at.date()
            continue
        if upcoming is None:
            return run
        # Calls past the partitions read may come after a timer not yet known of.
        unread = datetime.combine(checked_through + timedelta(days=1), time(0), tzinfo=UTC)
        batch = _batch(calls, index, min(sweep_at, unread) if sweep_at else unread)
        index += len(batch)
        _post(stack, browser, backend, batch)
        run.posts += 1
        if batch[-1].moves_timers:
            # It may have called off a known timer too: read again from the earliest.
            written_from = min([batch[-1].at.date(), *(at.date() for at in due.values())])
            due = {}


def _tick(stack: LocalStack, moment: datetime, kinds: list[str]) -> None:
    """What `LocalStack.tick` does, with only the sweeps that have something due: the
    others would find nothing (each costs a handful of calls to the embedded AWS)."""
    assert stack.clock is not None
    stack.clock.set(moment)
    stack.process_events()
    for kind in kinds:
        stack.functions["sweep"].invoke({"sweep": kind})
    stack.send_messages()


def _batch(calls: list[Call], start: int, before: datetime) -> list[Call]:
    """Calls from `start` up to (not including) `before`, ending early after one that moves
    timers (the next sweep may then come sooner). At least one call, if any is left."""
    batch: list[Call] = []
    for call in calls[start:]:
        if batch and call.at >= before:
            break
        batch.append(call)
        if call.moves_timers:
            break
    return batch


def _post(
    stack: LocalStack, browser: TrackingClient, backend: TrackingClient, batch: list[Call]
) -> None:
    """The batch in time order, each run of backend or browser calls as one request, each
    request processed before the next (so an identify is applied before what follows it)."""
    assert stack.clock is not None
    stack.clock.set(batch[-1].at)
    sent_at = iso(stack.clock.now())
    start = 0
    for end in range(1, len(batch) + 1):
        if end == len(batch) or batch[end].backend != batch[start].backend:
            client = backend if batch[start].backend else browser
            client.send_batch([call.message for call in batch[start:end]], sent_at=sent_at)
            stack.process_events()
            start = end


def _next_sweep(due: datetime, last_sweep: datetime | None, every: timedelta) -> datetime:
    """The first scheduled sweep that finds `due` due: the grid point at or after it, and
    after the last sweep run."""
    step = int(every.total_seconds())
    seconds = math.ceil(due.timestamp() / step) * step
    at = datetime.fromtimestamp(seconds, tz=UTC)
    if last_sweep is not None and at <= last_sweep:
        at = last_sweep + every
    return at


def next_due(
    store: Store, shop_id: str, first: date, last: date, today: date
) -> tuple[dict[str, datetime], date]:
    """The earliest timer of each sweep kind in the shop's due partitions from day `first`
    on, and the last day read: one query per kind and day, up to `last` or the first day
    from today on that holds any timer. A partition after today holds only timers due that
    day, so the days after it hold only later ones; a partition up to today may also hold
    timers already due."""
    earliest: dict[str, datetime] = {}
    day = first
    while day <= last:
        for kind in SWEEP_KINDS:
            for timer in store.due_timers(shop_id, kind, day, _LATEST, 1):
                at = parse_iso(timer.due_at)
                earliest[kind] = min(at, earliest.get(kind, at))
        if earliest and day >= today:
            return earliest, day
        day += timedelta(days=1)
    return earliest, last


@dataclass(frozen=True)
class JourneyFigures:
    """What the cart journey did, read back from the send records (not from the replay)."""

    carts: int  # visitors who added to cart
    entered: int  # first steps handled with the person in the journey (held out included)
    held_out: int
    sent: dict[str, int]  # steps sent, by channel
    skipped: dict[str, int]  # steps skipped, by reason
    # Orders that closed a cart whose journey still had steps to come (not held out), by how
    # many of its steps had been handled before the order.
    stopped_by_order: dict[int, int]


def journey_figures(
    stack: LocalStack, shop_id: str, events: list[RetailRocketEvent]
) -> JourneyFigures:
    """The send records of the shop's cart journey, per visitor (by their synthetic email),
    set against the orders in `events`: an order the journey never hears of (its timer is
    simply called off) shows in no record."""
    items = list(stack.store().scan_shop_items(shop_id))
    visitor_of = {
        item["profile_id"]: item["email"].removeprefix("rr-").removesuffix("@example.com")
        for item in items
        if item.get("kind") == "profile" and item.get("email")
    }
    records = [
        item
        for item in items
        if item.get("kind") == "send" and item.get("message_kind") == CART_RECOVERY
    ]
    handled: dict[str, list[tuple[datetime, str]]] = {}
    for record in records:
        visitor = visitor_of.get(record["profile_id"], "")
        at = _as_moment(record["created_at"])
        handled.setdefault(visitor, []).append((at, record.get("detail") or ""))
    journey = journey_for(CART_RECOVERY, _settings(stack, shop_id))
    steps = len(journey.steps) if journey else 0
    stopped: dict[int, int] = {}
    for visitor, changed, ordered in _carts_closed_by_orders(events):
        before = [why for at, why in handled.get(visitor, []) if changed <= at < ordered]
        if len(before) < steps and HOLDOUT not in before:
            stopped[len(before)] = stopped.get(len(before), 0) + 1
    first_steps = [r for r in records if int(r["step"]) == 0]
    sent = Counter(r["channel"] for r in records if r["status"] == "sent")
    skipped = Counter(r["detail"] for r in records if r["status"] == "skipped")
    return JourneyFigures(
        carts=len({e.visitor_id for e in events if e.event == ADD_TO_CART}),
        entered=sum(r.get("detail") not in NEVER_ENTERED for r in first_steps),
        held_out=sum(r.get("detail") == HOLDOUT for r in first_steps),
        sent=dict(sorted(sent.items())),
        skipped=dict(sorted(skipped.items())),
        stopped_by_order=dict(sorted(stopped.items())),
    )


def _carts_closed_by_orders(
    events: list[RetailRocketEvent],
) -> list[tuple[str, datetime, datetime]]:
    """(visitor, last add to the cart, order) for every order that closed an open cart: the
    journey the order ended is the one of the cart as of that add."""
    open_since: dict[str, datetime] = {}
    orders_seen: set[tuple[str, str | None]] = set()
    closed = []
    for event in events:
        if event.event == ADD_TO_CART:
            open_since[event.visitor_id] = event.at
        elif event.event == TRANSACTION and (event.visitor_id, event.transaction_id) not in (
            orders_seen
        ):
            orders_seen.add((event.visitor_id, event.transaction_id))
            if event.visitor_id in open_since:
                closed.append((event.visitor_id, open_since.pop(event.visitor_id), event.at))
    return closed


def _as_moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else parse_iso(str(value))


def _settings(stack: LocalStack, shop_id: str) -> ShopSettings:
    shop = stack.store().get_shop(shop_id)
    if shop is None:
        raise LookupError(f"no shop {shop_id}")
    return shop.settings


DEMO_SHOP_ID = "retailrocket"
DEMO_SENDER_DOMAIN = "retailrocket.example.com"  # synthetic: a reserved domain (RFC 2606)


def run_demo(out: TextIO) -> dict[str, Any]:
    """The demo's cart journey part: the histories of every visitor who adds to cart or buys,
    replayed on a shop with the shipped settings (journeys, 10% holdout, quiet hours). It
    runs on a stack of its own: the CDNOW shop, left in another's registry, would have every
    sweep read its due partitions day by day from 1998 to 2015."""
    events = read_events(sample_path())
    chosen = histories_of(events, journey_visitors(events))
    visitors = len({e.visitor_id for e in chosen})
    out.write(
        f"Retail Rocket: replaying the {len(chosen):,} events of the {visitors} visitors who add"
        f" to cart or buy ({SAMPLE}) through the cart journey, shipped settings\n"
    )
    started = monotonic()
    start = datetime.combine(chosen[0].at.date(), time(0), tzinfo=UTC)
    clock = SimulatedClock(start)
    stack = LocalStack.start(sender_domains=[DEMO_SENDER_DOMAIN], clock=clock)
    try:
        keys = create_shop(
            stack.store(),
            shop_id=DEMO_SHOP_ID,
            name="Retail Rocket (demo)",
            settings=ShopSettings(
                from_address=f"hello@{DEMO_SENDER_DOMAIN}",
                site_url=f"https://{DEMO_SENDER_DOMAIN}",
            ),
            now=start,
        )
        browser = TrackingClient(stack.api.url, keys.write_key)
        backend = TrackingClient(stack.api.url, keys.secret_key)
        run = replay(stack, browser, backend, DEMO_SHOP_ID, to_calls(chosen))
        figures = journey_figures(stack, DEMO_SHOP_ID, chosen)
        dead_letters = stack.dead_letters()
    finally:
        stack.stop()
    report = {
        "dataset": SAMPLE,
        "visitors": visitors,
        "events": len(chosen),
        "events_rejected": browser.rejected + backend.rejected,
        "sweeps": len(run.sweeps),
        **asdict(figures),
        "dead_letters": dead_letters,
        "synthetic_contacts": "emails are rr-<visitorid>@example.com, each with email consent",
        "seconds": round(monotonic() - started, 1),
    }
    _print_figures(out, report)
    return report


def _print_figures(out: TextIO, report: dict[str, Any]) -> None:
    stopped = report["stopped_by_order"]
    after = ", ".join(
        f"{count} after {handled} step{'s' if handled > 1 else ''}"
        for handled, count in stopped.items()
        if handled
    )
    lines = [
        ("carts", f"{report['carts']} visitors added to cart"),
        ("journeys entered", f"{report['entered']} ({report['held_out']} held out)"),
        ("steps sent", ", ".join(f"{k} {n}" for k, n in report["sent"].items()) or "none"),
        ("steps skipped", ", ".join(f"{k} {n}" for k, n in report["skipped"].items()) or "none"),
        (
            "stopped by orders",
            f"{sum(stopped.values())} ({stopped.get(0, 0)} before any step"
            + (f", {after})" if after else ")"),
        ),
        ("events rejected", f"{report['events_rejected']}"),
        ("dead letters", json.dumps(report["dead_letters"])),
        ("time", f"{report['seconds']} s"),
    ]
    out.write("\n".join(f"  {label:<22}{value}" for label, value in lines) + "\n")
