"""Lift over holdout: the Newcombe interval against the published examples, who counts as
entered and in which group, what converts, when the lift is not available, and the JSON."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from comeback.adapters.dynamo_types import to_item
from comeback.adapters.kpi_source import KpiSource, entry_from_send
from comeback.domain.journeys import HOLDOUT, NEVER_ENTERED
from comeback.domain.kpis import (
    HOLDOUT_REASON,
    MIN_GROUP_ENTRIES,
    NO_ENTRIES,
    NO_HOLDOUT,
    NO_TREATMENT,
    NOT_ENTERED_REASONS,
    DateRange,
    JourneyEntry,
    Order,
    ShopRecords,
    compute_kpis,
    journey_entry,
    kpis_as_json,
    newcombe_interval,
    wilson_interval,
)

MARCH = DateRange(date(2024, 3, 1), date(2024, 3, 31))
AS_OF = datetime(2024, 6, 1, tzinfo=UTC)
ENTERED = datetime(2024, 3, 10, 12, tzinfo=UTC)
WINDOW = timedelta(days=5)


def kpis_of(records, **options):
    return compute_kpis(records, MARCH, as_of=AS_OF, **options)


def group(prefix, entries, conversions, *, held_out, journey="cart_recovery", value="50.00"):
    """`entries` people entering at ENTERED, the first `conversions` ordering a day later."""
    people = [f"{prefix}{n}" for n in range(entries)]
    return (
        [JourneyEntry(p, journey, ENTERED, held_out) for p in people],
        [
            Order(p, ENTERED + timedelta(days=1), Decimal(value), f"{p}-o")
            for p in people[:conversions]
        ],
    )


def records_of(*groups):
    return ShopRecords(
        entries=[e for entries, _ in groups for e in entries],
        orders=[o for _, orders in groups for o in orders],
    )


# -- the interval ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe (1998), Table II, method 10, examples (a) to (h).
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((0, 10, 0, 10), (-0.2775, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0000)),
        ((10, 10, 0, 10), (0.6075, 1.0000)),
    ],
)
def test_the_hybrid_score_interval_matches_newcombes_published_examples(counts, expected):
    low, high = newcombe_interval(*counts)

    assert (round(low, 4), round(high, 4)) == expected


def test_the_worked_example_difference_and_interval():
    # 56/70 against 48/80: a difference of 0.2000, from 0.0524 to 0.3339
    low, high = newcombe_interval(56, 70, 48, 80)

    assert round(56 / 70 - 48 / 80, 4) == 0.2000
    assert f"{low:.4f} {high:.4f}" == "0.0524 0.3339"


def test_wilson_intervals_stay_within_0_and_1_and_refuse_nothing_to_count():
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert round(wilson_interval(0, 10)[1], 4) == 0.2775  # not a point at 0, as p +- z*se would be
    with pytest.raises(ValueError):
        wilson_interval(0, 0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


# -- who entered ------------------------------------------------------------------------------


def test_the_figures_read_the_senders_own_skip_reasons():
    # One definition, shared with the sender (domain.journeys): they cannot drift apart.
    assert NOT_ENTERED_REASONS is NEVER_ENTERED and HOLDOUT_REASON == HOLDOUT
    assert HOLDOUT_REASON not in NOT_ENTERED_REASONS
    assert {"cart_closed", "cart_changed", "ordered", "returned"} <= NOT_ENTERED_REASONS


def entry(kind="cart_recovery", step=0, status="sent", detail=None):
    return journey_entry("a", kind=kind, step=step, status=status, detail=detail, at=ENTERED)


def test_step_zero_records_are_entries_in_their_group():
    # Held out: skipped for the holdout
    assert entry(status="skipped", detail="holdout") == JourneyEntry(
        "a", "cart_recovery", ENTERED, held_out=True
    )
    # Treated (intent to treat): sent, failed, unknown, and skipped for want of consent or cap
    for status, detail in (
        ("sent", None),
        ("failed", "provider said no"),
        ("unknown", None),
        ("sending", None),
        ("skipped", "no_consent"),
        ("skipped", "capped"),
        ("skipped", None),
    ):
        found = entry(status=status, detail=detail)
        assert found is not None and found.held_out is False, (status, detail)
    # Never entered: skipped because the person or cart was no longer there
    for reason in NOT_ENTERED_REASONS:
        assert entry(status="skipped", detail=reason) is None, reason


def test_only_step_zero_of_a_journey_is_an_entry():
    assert entry(step=1) is None and entry(step=2, status="skipped", detail="holdout") is None
    # Records from before steps: cart recovery and win-back were single-step journeys
    assert entry(step=None) is not None
    assert entry(kind="reactivation", step=None) is not None
    # A product alert has no step: not a journey
    assert entry(kind="back_in_stock", step=None) is None
    # Any kind with a step is a journey
    assert entry(kind="browse_recovery", step=0) is not None


def test_send_items_become_entries_with_their_creation_time():
    item = {
        "kind": "send",
        "profile_id": "old",
        "message_kind": "cart_recovery",
        "status": "skipped",
        "detail": "holdout",
        "step": Decimal(0),  # numbers come out of DynamoDB as Decimal
        "created_at": "2024-03-10T12:00:00Z",
        "finished_at": "2024-03-10T12:00:05Z",
    }

    assert entry_from_send(item, "survivor") == JourneyEntry(
        "survivor", "cart_recovery", ENTERED, held_out=True
    )
    assert entry_from_send({**item, "step": Decimal(1)}, "survivor") is None
    assert entry_from_send({**item, "created_at": None}, "survivor") is None
    without_step = {k: v for k, v in item.items() if k != "step"}
    assert entry_from_send(without_step, "survivor") is not None
    assert entry_from_send({**without_step, "message_kind": "price_drop"}, "survivor") is None


class FakeDynamo:
    """Answers one Scan with the given items, and keeps the request."""

    def __init__(self, items):
        self.items = items
        self.requests = []

    def scan(self, **request):
        self.requests.append(request)
        return {"Items": [to_item(item) for item in self.items]}


def test_entries_of_a_merged_profile_count_for_the_survivor():
    shop = "pk-shop"
    items = [
        {"pk": f"{shop}#p1", "kind": "profile", "profile_id": "p1", "merged_into": "p2"},
        {"pk": f"{shop}#p2", "kind": "profile", "profile_id": "p2"},
        {
            "pk": f"{shop}#p1",
            "kind": "send",
            "profile_id": "p1",
            "message_kind": "cart_recovery",
            "status": "skipped",
            "detail": "holdout",
            "step": 0,
            "created_at": "2024-03-10T12:00:00Z",
        },
        {
            "pk": f"{shop}#p2",
            "kind": "send",
            "profile_id": "p2",
            "message_kind": "cart_recovery",
            "status": "sent",
            "step": 1,
            "created_at": "2024-03-11T12:00:00Z",
            "finished_at": "2024-03-11T12:00:01Z",
        },
        {
            "pk": f"{shop}#gone",
            "kind": "send",
            "profile_id": "erased",
            "message_kind": "cart_recovery",
            "status": "sent",
            "step": 0,
            "created_at": "2024-03-11T12:00:00Z",
        },
    ]
    client = FakeDynamo(items)

    records = KpiSource(client, "table").records("shop")

    assert records.entries == [JourneyEntry("p2", "cart_recovery", ENTERED, held_out=True)]
    # Both records are sends of the survivor too (the held-out one was skipped, not sent)
    assert [(s.customer_id, s.status) for s in records.sends] == [
        ("p2", "skipped"),
        ("p2", "sent"),
    ]
    request = client.requests[0]
    projected = request["ProjectionExpression"].split(", ")
    assert "#step" in projected and "#detail" in projected and "#created" in projected
    assert request["ExpressionAttributeNames"]["#step"] == "step"
    assert request["ExpressionAttributeNames"]["#detail"] == "detail"


# -- the lift ---------------------------------------------------------------------------------


def test_lift_compares_treated_and_held_out_conversion_rates():
    # Given 100 treated entries of which 20 ordered, and 40 held out of which 4 ordered
    records = records_of(group("t", 100, 20, held_out=False), group("h", 40, 4, held_out=True))

    lift = kpis_of(records).lift

    # Then 20% against 10%: 10 points, twice the held-out rate, with Newcombe's interval
    assert lift.available and lift.reason is None
    assert (lift.treatment_entries, lift.treatment_conversions) == (100, 20)
    assert (lift.holdout_entries, lift.holdout_conversions) == (40, 4)
    assert lift.lift == pytest.approx(0.1)
    assert lift.relative_lift == pytest.approx(1.0)
    assert (lift.confidence_low, lift.confidence_high) == newcombe_interval(20, 100, 4, 40)
    assert lift.confidence_low < lift.lift < lift.confidence_high
    # And 10 extra conversions at 50.00 each
    assert lift.incremental_revenue == Decimal("500.00")


def test_incremental_revenue_is_exact_and_may_be_negative():
    # Given 3 of 30 treated entries converting (at 10.00, 20.00, 33.33) against 5 of 30
    treated_entries, _ = group("t", 30, 0, held_out=False)
    values = ("10.00", "20.00", "33.33")
    orders = [
        Order(f"t{n}", ENTERED + timedelta(hours=1), Decimal(v), f"o{n}")
        for n, v in enumerate(values)
    ]
    records = records_of((treated_entries, orders), group("h", 30, 5, held_out=True))

    lift = kpis_of(records).lift

    # Then 3 - 30 * 5/30 = -2 conversions, at 63.33 / 3 = 21.11 each: -42.22
    assert lift.lift == pytest.approx(-2 / 30)
    assert lift.incremental_revenue == Decimal("-42.22")


def test_relative_lift_needs_held_out_conversions_and_revenue_needs_treated_ones():
    records = records_of(group("t", 30, 0, held_out=False), group("h", 30, 0, held_out=True))

    lift = kpis_of(records).lift

    assert lift.available and lift.lift == 0
    assert lift.relative_lift is None and lift.incremental_revenue is None
    assert lift.confidence_low < 0 < lift.confidence_high


@pytest.mark.parametrize(
    ("treated", "held_out", "reason"),
    [
        (0, 0, NO_ENTRIES),
        (50, 0, NO_HOLDOUT),
        (0, 50, NO_TREATMENT),
        (500, 29, "too few held-out entries to compare: 29 of 30 needed"),
        (29, 500, "too few treated entries to compare: 29 of 30 needed"),
    ],
)
def test_lift_is_not_available_without_enough_of_both_groups(treated, held_out, reason):
    records = records_of(
        group("t", treated, treated // 2, held_out=False),
        group("h", held_out, held_out // 3, held_out=True),
    )

    lift = kpis_of(records).lift

    # Then no figure, the reason, and still the counts
    assert not lift.available and lift.reason == reason
    assert lift.lift is None and lift.confidence_low is None and lift.confidence_high is None
    assert lift.relative_lift is None and lift.incremental_revenue is None
    assert (lift.treatment_entries, lift.treatment_conversions) == (treated, treated // 2)
    assert (lift.holdout_entries, lift.holdout_conversions) == (held_out, held_out // 3)


def test_thirty_held_out_entries_are_enough():
    assert MIN_GROUP_ENTRIES == 30
    records = records_of(group("t", 30, 3, held_out=False), group("h", 30, 1, held_out=True))

    assert kpis_of(records).lift.available


def test_the_conversion_window_edges():
    # Given five held-out entries, each with one order placed relative to the entry
    offsets = {
        "at_entry": timedelta(0),  # counts: at or after the entry
        "at_window_end": WINDOW,  # counts: the window's end is included
        "a_second_late": WINDOW + timedelta(seconds=1),  # does not
        "before": -timedelta(seconds=1),  # ordered before entering: does not
        "before_and_late": -timedelta(days=1),  # nor does it make a later order count
    }
    entries = [JourneyEntry(c, "cart_recovery", ENTERED, True) for c in offsets]
    orders = [Order(c, ENTERED + d, Decimal(1), f"{c}-o") for c, d in offsets.items()]
    orders.append(Order("before_and_late", ENTERED + WINDOW * 2, Decimal(1), "late-o"))

    lift = kpis_of(ShopRecords(entries=entries, orders=orders)).lift

    assert (lift.holdout_entries, lift.holdout_conversions) == (5, 2)

    # And a wider window takes the late ones in
    wider = kpis_of(ShopRecords(entries=entries, orders=orders), attribution_window=WINDOW * 3)
    assert wider.lift.holdout_conversions == 4


def test_only_entries_in_the_range_count_but_their_orders_may_come_after_it():
    last_day = datetime(2024, 3, 31, 23, 59, tzinfo=UTC)
    entries = [
        JourneyEntry("in", "cart_recovery", last_day, False),
        JourneyEntry("before", "cart_recovery", datetime(2024, 2, 29, 23, 59, tzinfo=UTC), False),
        JourneyEntry("after", "cart_recovery", datetime(2024, 4, 1, tzinfo=UTC), False),
    ]
    orders = [
        Order("in", last_day + timedelta(days=2), Decimal(1), "o1"),  # in April: still counts
        Order("before", datetime(2024, 3, 1, 1, tzinfo=UTC), Decimal(1), "o2"),
        Order("after", datetime(2024, 4, 1, 1, tzinfo=UTC), Decimal(1), "o3"),
    ]

    lift = kpis_of(ShopRecords(entries=entries, orders=orders)).lift

    assert (lift.treatment_entries, lift.treatment_conversions) == (1, 1)


def test_an_order_recorded_twice_counts_once_at_its_first_time():
    # Given an order placed before the entry whose event came again after it, and an order
    # after the entry recorded twice
    entries = [
        JourneyEntry("early", "cart_recovery", ENTERED, False),
        JourneyEntry("twice", "cart_recovery", ENTERED, False),
    ]
    orders = [
        Order("early", ENTERED - timedelta(minutes=5), Decimal(9), "o1"),
        Order("early", ENTERED + timedelta(minutes=5), Decimal(9), "o1"),
        Order("twice", ENTERED + timedelta(hours=1), Decimal(9), "o2"),
        Order("twice", ENTERED + timedelta(hours=2), Decimal(9), "o2"),
    ]
    treated_entries, _ = group("x", 30, 0, held_out=False)
    held_out_entries, _ = group("h", 30, 0, held_out=True)

    lift = kpis_of(
        ShopRecords(entries=entries + treated_entries + held_out_entries, orders=orders)
    ).lift

    # Then "early" did not convert (its order came first), "twice" converted once, for 9
    assert (lift.treatment_entries, lift.treatment_conversions) == (32, 1)
    assert lift.incremental_revenue == Decimal("9.00")


def test_each_journey_has_its_lift_and_cart_recovery_is_the_headline():
    records = records_of(
        group("t", 40, 8, held_out=False),
        group("h", 30, 3, held_out=True),
        group("rt", 10, 1, held_out=False, journey="reactivation"),
        group("rh", 2, 0, held_out=True, journey="reactivation"),
    )

    kpis = kpis_of(records)

    assert list(kpis.lift_by_journey) == ["cart_recovery", "reactivation"]
    assert kpis.lift is kpis.lift_by_journey["cart_recovery"] and kpis.lift.available
    win_back = kpis.lift_by_journey["reactivation"]
    assert not win_back.available and win_back.holdout_entries == 2

    # And without cart recovery entries the headline says so
    only_win_back = records_of(group("rt", 40, 1, held_out=False, journey="reactivation"))
    assert kpis_of(only_win_back).lift.reason == NO_ENTRIES


def test_the_json_answer_has_both_groups_the_interval_and_each_journey():
    records = records_of(group("t", 100, 20, held_out=False), group("h", 40, 4, held_out=True))

    body = json.loads(json.dumps(kpis_as_json(kpis_of(records))))

    lift = body["lift_over_holdout"]
    low, high = newcombe_interval(20, 100, 4, 40)
    assert lift["available"] is True and lift["reason"] is None
    assert lift["journey"] == "cart_recovery"
    assert lift["lift"] == pytest.approx(0.1)
    assert lift["confidence_interval"] == [round(low, 6), round(high, 6)]
    assert lift["confidence_level"] == 0.95
    assert lift["relative_lift"] == pytest.approx(1.0)
    assert lift["treatment"] == {"entries": 100, "conversions": 20, "conversion_rate": 0.2}
    assert lift["holdout"] == {"entries": 40, "conversions": 4, "conversion_rate": 0.1}
    assert lift["incremental_revenue"] == "500.00"
    assert body["lift_by_journey"]["cart_recovery"] == {
        k: v for k, v in lift.items() if k != "journey"
    }
