"""The demo's replay of real CDNOW orders, on a subset, against figures computed here
independently from the raw file: counts, exact revenue, and win-backs; a second replay of
the same data changes nothing."""

import hashlib
import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from comeback.local.datasets import read_cdnow
from comeback.local.demo import events_by_day, replay, summarise
from comeback.local.replay import TrackingClient

from tests.conftest import make_shop

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "CDNOW_sample.txt"
CUSTOMERS = 60
LAPSE_DAYS = 90
CONSENT_PERCENT = 60


def expected_from_raw_file():
    """Parsed here with nothing from the product: id, index, YYYYMMDD, CDs, dollars."""
    orders = defaultdict(list)
    for line in SAMPLE.read_text().splitlines():
        customer, _index, day, _cds, value = line.split()
        orders[int(customer)].append(
            (date(int(day[:4]), int(day[4:6]), int(day[6:])), Decimal(value))
        )
    chosen = sorted(orders)[:CUSTOMERS]
    last_day = max(d for c in orders for d, _ in orders[c])
    winbacks = skipped = 0
    for customer in chosen:
        days = sorted({d for d, _ in orders[customer]})
        # A win-back goes out on the evening 90 days after the last activity, unless the
        # customer ordered again by then, and once per quiet spell.
        lapses = sum(1 for a, b in itertools.pairwise(days) if (b - a).days > LAPSE_DAYS)
        lapses += (last_day - days[-1]).days >= LAPSE_DAYS
        consented = (
            int(hashlib.sha256(str(customer).encode()).hexdigest()[:8], 16) % 100 < CONSENT_PERCENT
        )
        winbacks += lapses if consented else 0
        skipped += 0 if consented else lapses
    rows = [o for c in chosen for o in orders[c]]
    return (
        {
            "profiles": len(chosen),
            "orders": len(rows),
            "revenue": str(sum((v for _, v in rows), Decimal(0))),
            "winbacks_sent": winbacks,
            "skipped_no_consent": skipped,
        },
        chosen,
        last_day,
    )


@pytest.mark.slow
def test_replaying_cdnow_matches_the_raw_file_and_a_second_replay_changes_nothing(stack):
    expected, chosen, last_day = expected_from_raw_file()
    keep = {str(c) for c in chosen}
    orders = [o for o in read_cdnow(SAMPLE) if o.customer_id in keep]
    days = events_by_day(orders, "sample")
    first = min(days)
    shop = make_shop(stack, datetime.combine(first, time(0), tzinfo=UTC))
    client = TrackingClient(stack.api.url, shop.keys.write_key)

    replay(stack, client, days, first, last_day)
    once = summarise(stack, shop.shop_id)
    assert client.rejected == 0
    assert {k: once[k] for k in expected} == expected
    assert once["reminders_sent"] == 0  # CDNOW has orders only, no carts

    accepted = client.accepted
    replay(stack, client, days, first, last_day)
    assert summarise(stack, shop.shop_id) == once
    assert client.accepted == 2 * accepted  # accepted again, applied once
    assert stack.dead_letters() == {"events": 0, "send": 0}


def test_the_subset_is_not_trivial():
    expected, _, _ = expected_from_raw_file()
    assert expected["winbacks_sent"] > 5 and expected["skipped_no_consent"] > 3
    assert expected["orders"] > expected["profiles"]
    assert timedelta(days=LAPSE_DAYS)
