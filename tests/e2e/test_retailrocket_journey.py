"""Real visitor histories from Retail Rocket through the shipped cart journey on the local
stack, step by step on the simulated clock, checked against the raw file: each step comes
once, in order, no sooner than it is due and at the first sweep after; nobody who bought
before a step was due gets that step or any later one; the emails SES took are the steps
recorded as sent by email.

An order after the journey began cancels the timer of its next step; a step already claimed
by a sweep when the order came is recorded as skipped (`ordered`), and nothing after it. That
one skip record is allowed (and counted); a step sent, or any other record, after an order
is not.

What is replayed: the complete histories (views included) of the 40 visitors of the sample
who add to cart or buy: 310 of its 2,771 rows, all 62 add-to-carts and 14 purchase rows
(13 orders). The other 1,460 visitors only view products, which neither starts nor ends a
cart journey; replaying them as well takes minutes instead of seconds (set
COMEBACK_RR_ALL_VISITORS=1 to replay every row: the checks are the same).

Contact data is **synthetic**: the file has none. Each visitor who adds to cart is given
`rr-<visitorid>@example.com` with email consent by the shop's backend; nobody has a browser
push subscription, so the push-only first step is always skipped for lack of consent. The
shop runs the shipped cart journey with nobody held out and quiet hours off, so that every
step goes at the first sweep after it is due (sweeps every 10 simulated minutes).

The expectations below come from the file itself (parsed here, with nothing from the
product) and the journey as specified: steps at 30 minutes, 4 hours and 24 hours after the
cart's last change; an order or another change to the cart ends the journey of the cart as
it was; a new journey starts no sooner than 7 days after the person last entered one, and
then counts its later steps from that start; a step after one that was sent keeps the
journey's own gap to it. Two kinds of history are
ambiguous and are handled explicitly:

- an add-to-cart and a purchase at the same moment: the order closes the cart (what the
  product does with a cart event at or before an order's time), so such an add is treated as
  bought. Ordering is by the file's millisecond timestamps; the sample has no such tie.
- a cart that changes, or an order, after a step fell due but before the sweep that picks the
  step up (less than a sweep interval later): the step may be handled or not. Counted and
  printed; the sample has none.
"""

import csv
import itertools
import json
import os
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from pathlib import Path

import pytest
from comeback.adapters.store import job_key
from comeback.clock import iso, parse_iso
from comeback.domain.journeys import StepSubject
from comeback.keys import send_sk
from comeback.local import retailrocket
from comeback.local.replay import TrackingClient
from comeback.models.journey import default_cart_journey

from tests.conftest import make_shop
from tests.e2e.test_cart_journey import JOURNEYS

SAMPLE = Path(__file__).resolve().parents[2] / "examples/data/retailrocket_events_sample.csv"
CART = "cart_recovery"
# The shipped cart journey as specified (checked against the product's defaults below).
STEP_DELAYS = (timedelta(minutes=30), timedelta(hours=4), timedelta(hours=24))
STEP_CHANNELS = ("push", "email", "email")
REENTRY_COOLDOWN = timedelta(days=7)
SWEEP_EVERY = timedelta(minutes=10)
START_SLACK = timedelta(minutes=15)  # the product's SWEEP_SLACK, as specified
# Why a step is skipped when the cart's journey ended (an order, an emptied cart).
ENDED = {"ordered", "cart_closed"}
ALL_VISITORS = os.environ.get("COMEBACK_RR_ALL_VISITORS") == "1"


@dataclass(frozen=True)
class CartState:
    """One cart as it was after an add, until the next add or an order changed it."""

    visitor: str
    trigger: datetime  # the add: the journey's steps count from here
    ended_at: datetime | None
    ended_by: str | None  # "order" or "add"


def raw_histories():
    """Add-to-cart moments and orders (the first moment of each transaction) per visitor,
    read here straight from the file."""
    adds, orders, rows, visitors = defaultdict(list), defaultdict(dict), 0, set()
    with SAMPLE.open(newline="") as lines:
        for row in csv.DictReader(lines):
            rows += 1
            visitors.add(row["visitorid"])
            at = datetime.fromtimestamp(int(row["timestamp"]) / 1000, tz=UTC)
            if row["event"] == "addtocart":
                adds[row["visitorid"]].append(at)
            elif row["event"] == "transaction":
                known = orders[row["visitorid"]].get(row["transactionid"], at)
                orders[row["visitorid"]][row["transactionid"]] = min(known, at)
    return adds, {v: sorted(o.values()) for v, o in orders.items()}, rows, visitors


def cart_states(adds, orders):
    """Every cart state per visitor. On a tie an order comes first: it closes the cart."""
    states = defaultdict(list)
    for visitor in adds:
        timeline = sorted(
            [(at, 0, "order") for at in orders.get(visitor, [])]
            + [(at, 1, "add") for at in adds[visitor]]
        )
        open_at = None
        for at, _, what in timeline:
            if what == "add" and at == open_at:
                continue  # the same add twice (the file repeats some rows): the same cart
            if open_at is not None:
                states[visitor].append(CartState(visitor, open_at, at, what))
            open_at = at if what == "add" else None
        if open_at is not None:
            states[visitor].append(CartState(visitor, open_at, None, None))
    return states


def same_second_ties(adds, orders):
    return sum(
        1
        for visitor, moments in adds.items()
        for at in moments
        for bought in orders.get(visitor, [])
        if abs(at - bought) < timedelta(seconds=1)
    )


def moment(value):
    return value if isinstance(value, datetime) else parse_iso(str(value))


def step_key(state, step):
    """The send record of a step of this cart's journey (the product's idempotency key)."""
    return send_sk(job_key(CART, str(StepSubject(iso(state.trigger), step))))


def emails_by_recipient(stack):
    """Subjects of every email SES accepted, per recipient, read back from moto's server."""
    with urllib.request.urlopen(f"{stack.aws.endpoint}/moto-api/data.json") as response:
        data = json.loads(response.read())
    subjects = defaultdict(list)
    for message in {m["id"]: m for m in data.get("ses", {}).get("RawMessage", [])}.values():
        parsed = message_from_string(message["raw_data"], policy=policy.default)
        for recipient in set(message["destinations"]):
            subjects[recipient].append(str(parsed["Subject"]))
    return subjects


def check_visitor(states, records, problems, tally):
    """Walk one visitor's carts step by step against the records; note what differs."""
    entered_at = None
    entries = []
    for state in states:
        handled = None
        previous_sent = False
        start = state.trigger  # where the steps count from
        for step, delay in enumerate(STEP_DELAYS):
            record = records.pop(step_key(state, step), None)
            where = f"visitor {state.visitor} cart of {iso(state.trigger)} step {step}"
            due = start + delay
            if step == 0 and entered_at is not None:
                due = max(due, entered_at + REENTRY_COOLDOWN)
            if step > 0 and previous_sent:
                due = max(due, handled + delay - STEP_DELAYS[step - 1])
            if state.ended_at is not None and state.ended_at <= due:
                # Ended before the step was due: it must not come, nor any later one. After
                # an order, the step may leave one skip saying the journey had ended.
                if state.ended_by == "order":
                    tally[f"stopped by order before step {step}"] += 1
                if record is not None:
                    if state.ended_by == "order" and _ended_skip(record, due):
                        tally[f"skip record after order: step {step} {record['detail']}"] += 1
                    else:
                        problems.append(
                            f"{where}: {_show(record)} though it ended at "
                            f"{iso(state.ended_at)} ({state.ended_by}) before "
                            f"it was due at {iso(due)}"
                        )
                for later in range(step + 1, len(STEP_DELAYS)):
                    extra = records.pop(step_key(state, later), None)
                    if extra is not None:
                        problems.append(f"{where}: a later step {later}: {_show(extra)}")
                break
            # The step goes at the first sweep from its due time on; a step due already (after
            # an entry that waited out the cooldown) at the first sweep after the one before.
            first_sweep = max(due, handled + SWEEP_EVERY if handled else due)
            racing = state.ended_at is not None and state.ended_at < first_sweep + SWEEP_EVERY
            if racing:
                tally["ambiguous: ended between due time and sweep"] += 1
            if record is None:
                if not racing:
                    problems.append(
                        f"{where}: no record, due at {iso(due)}, cart open until "
                        f"{iso(state.ended_at) if state.ended_at else 'the end'}"
                    )
                break
            at = moment(record["created_at"])
            if not due <= at < first_sweep + SWEEP_EVERY:
                problems.append(f"{where}: handled at {iso(at)}, due at {iso(due)}")
            if handled is not None and at <= handled:
                problems.append(f"{where}: handled at {iso(at)}, not after step {step - 1}")
            outcome = (record["status"], (record.get("detail") or "").split(":")[0])
            tally[f"step {step} {outcome[0]} {outcome[1]}"] += 1
            expected = ("skipped", "no_consent") if step == 0 else ("sent", STEP_CHANNELS[step])
            if outcome != expected and not racing:
                problems.append(f"{where}: {_show(record)}, expected {expected}")
            if step == 0 and outcome[1] not in ENDED | {"cart_changed", "returned"}:
                entries.append(at)
                entered_at = at
                tally["journeys entered"] += 1
                # A start that waited (the cooldown) moves the later steps with it; one a
                # sweep found a little late (within the slack) does not.
                start = max(state.trigger, at - STEP_DELAYS[0] - START_SLACK)
            handled, previous_sent = at, record["status"] == "sent"
    # Nobody gets a step twice: each record above was one step of one cart's journey (and
    # the emails are checked against the records), and a step comes again only in a journey
    # entered anew, never within the re-entry cooldown of the last entry.
    for first, second in itertools.pairwise(entries):
        if second - first < REENTRY_COOLDOWN:
            problems.append(
                f"visitor {states[0].visitor}: entered at {iso(first)} and again at {iso(second)}"
            )


def _ended_skip(record, due):
    return (
        record["status"] == "skipped"
        and record.get("detail") in ENDED
        and moment(record["created_at"]) >= due
    )


def _show(record):
    return f"{record['status']} {record.get('detail')} at {iso(moment(record['created_at']))}"


@pytest.mark.slow
def test_replaying_retail_rocket_drives_the_cart_journey_and_an_order_stops_it(stack):
    shipped = default_cart_journey()
    assert [timedelta(minutes=s.delay_minutes) for s in shipped.steps] == list(STEP_DELAYS)
    assert shipped.reentry_cooldown_days == REENTRY_COOLDOWN.days
    adds, orders, rows, visitors = raw_histories()
    assert (rows, len(visitors), sum(map(len, adds.values()))) == (2771, 1500, 62)

    events = retailrocket.read_events(SAMPLE)
    if not ALL_VISITORS:
        events = retailrocket.histories_of(events, retailrocket.journey_visitors(events))
    first_day = datetime.combine(events[0].at.date(), datetime.min.time(), tzinfo=UTC)
    shop = make_shop(
        stack, first_day, journeys=JOURNEYS, quiet_hours_start=None, quiet_hours_end=None
    )
    browser = TrackingClient(stack.api.url, shop.keys.write_key)
    backend = TrackingClient(stack.api.url, shop.keys.secret_key)
    started = time.monotonic()
    run = retailrocket.replay(
        stack, browser, backend, shop.shop_id, retailrocket.to_calls(events), every=SWEEP_EVERY
    )
    seconds = time.monotonic() - started
    assert browser.rejected == backend.rejected == 0, browser.errors + backend.errors
    assert stack.dead_letters() == {"events": 0, "send": 0}

    items = list(stack.store().scan_shop_items(shop.shop_id))
    visitor_of = {
        i["profile_id"]: i["email"].removeprefix("rr-").removesuffix("@example.com")
        for i in items
        if i.get("kind") == "profile" and i.get("email")
    }
    sends = [i for i in items if i.get("kind") == "send"]
    cart_records = defaultdict(dict)
    for record in (r for r in sends if r["message_kind"] == CART):
        who = visitor_of.get(record["profile_id"], record["profile_id"])
        cart_records[who][record["sk"]] = record

    states = cart_states(adds, orders)
    problems, tally = [], Counter()
    for visitor in sorted(states, key=int):
        records = cart_records.pop(visitor, {})
        check_visitor(states[visitor], records, problems, tally)
        problems.extend(f"visitor {visitor}: unexpected {_show(r)}" for r in records.values())
    problems.extend(
        f"profile {who}: cart records of nobody who added to cart" for who in cart_records
    )

    # The emails SES took: each cart step sent by email, and the win-backs, nothing else.
    emails = emails_by_recipient(stack)
    for visitor in states:
        address = retailrocket.synthetic_email(visitor)
        mine = [r for r in sends if visitor_of.get(r["profile_id"]) == visitor]
        cart_sent = Counter(
            int(r["step"])
            for r in mine
            if r["message_kind"] == CART and r["status"] == "sent" and r.get("channel") == "email"
        )
        others = sum(
            1
            for r in mine
            if r["message_kind"] != CART and r["status"] == "sent" and r.get("channel") == "email"
        )
        got = emails.pop(address, [])
        reminders = Counter(
            2 if s.startswith("Still thinking it over?") else 1
            for s in got
            if s.startswith(("You left something in your cart", "Still thinking it over?"))
        )
        if reminders != cart_sent or len(got) != sum(cart_sent.values()) + others:
            problems.append(
                f"visitor {visitor}: emails {got}, sent records {dict(cart_sent)} + {others} other"
            )
    assert not [a for a in emails if a.startswith("rr-")], "email to a visitor never in a cart"

    by_step = Counter(
        (int(r["step"]), r["status"], (r.get("detail") or "").split(":")[0])
        for r in sends
        if r["message_kind"] == CART
    )
    print(
        f"\nRetail Rocket replay: {len(events):,} rows of {len({e.visitor_id for e in events})}"
        f" visitors, {run.posts} posts, {len(run.sweeps)} sweeps, {seconds:.0f} s"
        f"\n  carts: {len(states)} visitors added to cart, "
        f"{sum(map(len, states.values()))} cart states"
        f"\n  journeys entered: {tally['journeys entered']}"
        + "".join(
            f"\n  step {step} {status} {why}: {count}"
            for (step, status, why), count in sorted(by_step.items())
        )
        + "".join(
            f"\n  {what}: {count}"
            for what, count in sorted(tally.items())
            if what.startswith(("stopped", "skip record", "ambiguous"))
        )
        + f"\n  add-to-cart and purchase in the same second: {same_second_ties(adds, orders)}"
    )
    assert not problems, "\n".join(problems)
    assert tally["journeys entered"] > 0 and by_step[(1, "sent", "email")] > 0
