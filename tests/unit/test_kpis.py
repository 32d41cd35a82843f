"""Shop KPIs from hand-made records: each figure, its definition's edges, and the API's JSON."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from comeback.domain.kpis import (
    NO_ENTRIES,
    CartActivity,
    ChannelStats,
    DateRange,
    Order,
    Ratio,
    Send,
    ShopRecords,
    Unsubscribe,
    compute_kpis,
    kpis_as_json,
)
from comeback.errors import InvalidInput
from comeback.services.reporting import parse_range

MARCH = DateRange(date(2024, 3, 1), date(2024, 3, 31))
AS_OF = datetime(2024, 6, 1, tzinfo=UTC)


def at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def order(customer, day, value, order_id=None, hour=12, minute=0):
    return Order(customer, at(day, hour, minute), Decimal(value), order_id or f"{customer}-{day}")


def kpis_of(records, period=MARCH, **options):
    return compute_kpis(records, period, as_of=options.pop("as_of", AS_OF), **options)


def test_an_empty_shop_has_zeros_and_no_invented_rates():
    # Given no records at all
    # When the figures are computed
    kpis = kpis_of(ShopRecords())

    # Then counts are zero and every rate without a denominator is None, not 0
    assert (kpis.orders, kpis.revenue, kpis.customers, kpis.new_customers) == (0, 0, 0, 0)
    assert kpis.average_order_value is None and kpis.average_historical_value is None
    for ratio in (kpis.repeat_purchase_rate, kpis.churn_rate, kpis.cart_abandonment_rate):
        assert ratio.value is None
    assert kpis.recovery_rate.value is None and kpis.unsubscribe_rate.value is None
    assert kpis.cohorts == () and kpis.messages == {}
    assert kpis.lift.available is False and kpis.lift.reason == NO_ENTRIES
    assert kpis.lift.treatment_entries == 0 and kpis.lift.holdout_entries == 0
    assert kpis.lift_by_journey == {}
    assert sum(p.revenue for p in kpis.over_time) == 0


def test_orders_revenue_and_average_order_value_count_each_order_id_once():
    # Given an order recorded twice (a redelivery under another message id), and one outside
    records = ShopRecords(
        orders=[
            order("a", "2024-03-02", "10.10", "o1"),
            order("a", "2024-03-02", "10.10", "o1", hour=13),
            order("b", "2024-03-31", "20.25", "o2", hour=23, minute=59),
            order("b", "2024-04-01", "99.00", "o3", hour=0),
        ]
    )

    # When the figures for March are computed
    kpis = kpis_of(records)

    # Then the copy and the April order are left out; money stays exact
    assert kpis.orders == 2
    assert kpis.revenue == Decimal("30.35")
    assert kpis.average_order_value == Decimal("15.18")  # 15.175, rounded half even to cents
    assert kpis.customers == 2


def test_repeat_purchase_rate_counts_customers_with_two_orders_in_the_range():
    # Given a two-order customer, a one-order customer, and a customer who ordered only before
    records = ShopRecords(
        orders=[
            order("a", "2024-03-01", "5"),
            order("a", "2024-03-20", "5"),
            order("b", "2024-03-05", "5"),
            order("c", "2024-02-05", "5"),
            order("c", "2024-02-06", "5"),
        ]
    )

    kpis = kpis_of(records)

    # Then one of the two March customers repeated (c's two February orders do not count)
    assert kpis.repeat_purchase_rate == Ratio(1, 2)
    assert kpis.repeat_purchase_rate.value == 0.5


def test_new_customers_take_the_first_order_from_the_profile_when_events_are_gone():
    # Given b's first order known only from the profile's counter (its raw event expired)
    records = ShopRecords(
        orders=[order("a", "2024-03-03", "5"), order("b", "2024-03-04", "5")],
        first_orders={"b": at("2023-01-10")},
    )

    kpis = kpis_of(records)

    # Then only a is new in March, and b's cohort (January 2023) is outside the range
    assert kpis.new_customers == 1
    assert [c.month for c in kpis.cohorts] == ["2024-03"]


def test_churn_is_last_periods_customers_who_did_not_order_in_this_one():
    # Given customers a and d in the previous 31 days (January 30th to February 29th), and
    # customers a and b in March
    records = ShopRecords(
        orders=[
            order("a", "2024-02-10", "5"),
            order("d", "2024-01-30", "5"),
            order("e", "2024-01-29", "5"),  # before the previous period: not counted
            order("a", "2024-03-10", "5"),
            order("b", "2024-03-11", "5"),
        ]
    )

    kpis = kpis_of(records)

    # Then d churned: one of two (b is new, not a returning customer)
    assert MARCH.previous() == DateRange(date(2024, 1, 30), date(2024, 2, 29))
    assert kpis.churn_rate == Ratio(1, 2)


def test_active_customers_and_historical_value_look_back_from_the_range_end():
    # Given a customer last seen 400 days before the range end, and two recent ones
    records = ShopRecords(
        orders=[
            order("old", "2023-02-25", "100"),
            order("a", "2023-06-01", "30"),
            order("b", "2024-03-15", "20"),
            order("b", "2024-04-15", "999"),  # after the range: not part of "up to the end"
        ]
    )

    kpis = kpis_of(records)

    # Then two are active (ordered within 365 days of March 31st); lifetime value per customer
    assert kpis.active_customers == 2
    assert kpis.average_historical_value == Decimal("50.00")  # 150 / 3


def test_monthly_cohorts_count_who_ordered_in_each_later_month():
    # Given a January cohort of three and a February cohort of one
    records = ShopRecords(
        orders=[
            order("a", "2024-01-05", "1"),
            order("a", "2024-02-07", "1"),
            order("b", "2024-01-09", "1"),
            order("b", "2024-03-01", "1"),
            order("b", "2024-03-02", "1"),  # twice in March: one customer, counted once
            order("c", "2024-01-31", "1"),
            order("d", "2024-02-01", "1"),
            order("d", "2024-04-02", "1"),  # after the range's end
        ]
    )

    kpis = kpis_of(records, DateRange(date(2024, 1, 1), date(2024, 3, 31)))

    # Then month 0 is the whole cohort and later months count distinct customers
    assert [(c.month, c.customers, c.active) for c in kpis.cohorts] == [
        ("2024-01", 3, (3, 1, 1)),
        ("2024-02", 1, (1, 0)),
    ]
    assert kpis.cohorts[0].retention == (1.0, 1 / 3, 1 / 3)


def reminder(customer, when, status="sent", kind="cart_recovery", channel="email", clicks=0):
    return Send(customer, kind, channel, status, when, clicks)


def test_carts_abandoned_reminded_and_recovered_by_last_touch():
    day = "2024-03-10"
    records = ShopRecords(
        cart_activity=[
            CartActivity("bought", at(day, 10)),  # ordered 30 minutes later: not abandoned
            CartActivity("lost", at(day, 10)),  # never ordered, no reminder
            CartActivity("won", at(day, 10)),
            CartActivity("won", at(day, 10, 20)),  # same cart, added more
            CartActivity("late", at(day, 10)),  # ordered 6 days after the reminder
            CartActivity("other", at(day, 10)),  # a win-back came after the reminder
            CartActivity("open", at("2024-03-31", 23, 30)),  # its delay has not passed
        ],
        orders=[
            order("bought", day, "10", hour=10, minute=30),
            order("won", "2024-03-12", "40.50"),
            order("late", "2024-03-17", "70"),
            order("other", "2024-03-13", "25"),
            order("won", "2024-03-20", "5"),  # a later order with no cart: not recovered
        ],
        sends=[
            reminder("won", at(day, 11, 20)),
            reminder("late", at(day, 11)),
            reminder("other", at(day, 11)),
            reminder("other", at("2024-03-12"), kind="reactivation"),
            reminder("lost", at(day, 11), status="skipped", channel=None),
        ],
    )

    kpis = kpis_of(records, as_of=at("2024-04-01", 0, 10))

    # Then 6 carts: 4 abandoned (not "bought", not the still-open one), 3 reminded (the
    # skipped reminder never went out), 1 recovered
    assert (kpis.funnel.carts, kpis.funnel.abandoned) == (6, 4)
    assert (kpis.funnel.reminded, kpis.funnel.recovered) == (3, 1)
    assert kpis.cart_abandonment_rate == Ratio(4, 6)
    assert kpis.recovery_rate == Ratio(1, 4)
    assert kpis.recovered_revenue == Decimal("40.50")
    recovered_week = next(p for p in kpis.over_time if p.recovered_revenue)
    assert recovered_week.first == date(2024, 3, 11)  # the Monday of the order's week

    # And with a 3-day reminder delay the 2-day order is no abandonment (3 days 2 hours is)
    as_of = at("2024-04-01", 0, 10)
    assert kpis_of(records, as_of=as_of, abandon_after=timedelta(days=3)).funnel.abandoned == 3
    # And an 8-day attribution window also counts the order 7 days after its reminder
    wider = kpis_of(records, as_of=as_of, attribution_window=timedelta(days=8))
    assert wider.funnel.recovered == 2
    assert wider.recovered_revenue == Decimal("110.50")


def test_a_cart_restarts_after_an_order():
    # Given two carts of one customer, each ended by an order long after it was left
    records = ShopRecords(
        cart_activity=[CartActivity("a", at("2024-03-01")), CartActivity("a", at("2024-03-10"))],
        orders=[order("a", "2024-03-05", "10"), order("a", "2024-03-15", "10")],
    )

    # Then they are two abandoned carts
    assert kpis_of(records).funnel.abandoned == 2


def test_messages_per_channel_and_the_unsubscribe_rate():
    records = ShopRecords(
        sends=[
            reminder("a", at("2024-03-02"), clicks=2),
            reminder("b", at("2024-03-02"), kind="reactivation"),
            reminder("c", at("2024-03-02"), status="failed"),
            reminder("d", at("2024-03-02"), status="unknown", channel="sms"),
            reminder("e", at("2024-03-02"), channel="push", clicks=1),
            reminder("f", at("2024-03-02"), status="skipped", channel=None),
            reminder("g", at("2024-04-02")),  # outside the range
        ],
        unsubscribes=[Unsubscribe("b", at("2024-03-03")), Unsubscribe("z", at("2024-02-03"))],
    )

    kpis = kpis_of(records)

    assert kpis.messages == {
        "email": ChannelStats(sent=3, delivered=2, clicked=1),
        "push": ChannelStats(sent=1, delivered=1, clicked=1),
        "sms": ChannelStats(sent=1, delivered=0, clicked=0),
    }
    assert kpis.unsubscribes == 1
    assert kpis.unsubscribe_rate == Ratio(1, 2)


def test_over_time_is_weekly_for_short_ranges_and_monthly_for_long_ones():
    records = ShopRecords(orders=[order("a", "2024-01-15", "1.5"), order("b", "2024-03-31", "2")])
    weekly = kpis_of(records)
    monthly = kpis_of(records, DateRange(date(2023, 12, 15), date(2024, 3, 31)))

    assert weekly.granularity == "week" and weekly.over_time[0].first == date(2024, 2, 26)
    assert sum(p.revenue for p in weekly.over_time) == Decimal(2)
    assert monthly.granularity == "month"
    assert [p.label for p in monthly.over_time] == ["2023-12", "2024-01", "2024-02", "2024-03"]
    assert [p.revenue for p in monthly.over_time] == [0, Decimal("1.5"), 0, 2]


def test_the_json_answer_is_exact_and_names_the_missing_lift():
    records = ShopRecords(
        orders=[order("a", "2024-03-02", "0.10"), order("a", "2024-03-03", "0.20")]
    )

    body = json.loads(json.dumps(kpis_as_json(kpis_of(records))))

    assert body["from"] == "2024-03-01" and body["to"] == "2024-03-31"
    assert body["revenue"] == "0.30" and body["orders"] == 2
    assert body["repeat_purchase_rate"] == {"numerator": 1, "denominator": 1, "value": 1.0}
    assert body["cohort_retention"][0]["active"] == [1]
    assert body["lift_over_holdout"] == {
        "journey": "cart_recovery",
        "available": False,
        "reason": NO_ENTRIES,
        "lift": None,
        "confidence_interval": None,
        "confidence_level": 0.95,
        "relative_lift": None,
        "treatment": {"entries": 0, "conversions": 0, "conversion_rate": None},
        "holdout": {"entries": 0, "conversions": 0, "conversion_rate": None},
        "incremental_revenue": None,
    }
    assert body["lift_by_journey"] == {}


def test_date_ranges_and_their_parsing():
    today = date(2024, 5, 20)
    assert parse_range(None, None, today) == DateRange(date(2024, 4, 21), today)
    assert parse_range("2024-01-01", None, today) == DateRange(date(2024, 1, 1), date(2024, 1, 30))
    assert parse_range(None, "2024-01-30", today) == DateRange(date(2024, 1, 1), date(2024, 1, 30))
    assert parse_range("2024-02-01", "2024-02-01", today).days == 1
    refused = (("2024-02-02", "2024-02-01"), ("yesterday", None), ("2000-01-01", "2024-01-01"))
    for first, last in refused:
        with pytest.raises(InvalidInput):
            parse_range(first, last, today)
    with pytest.raises(ValueError):
        DateRange(date(2024, 2, 2), date(2024, 2, 1))


def test_each_order_is_credited_once_to_the_last_message_within_the_window():
    sends = [
        Send("ann", "cart_recovery", "push", "sent", at("2024-03-02", 9)),
        Send("ann", "cart_recovery", "email", "sent", at("2024-03-02", 13)),
        Send("ann", "reactivation", "email", "skipped", at("2024-03-02", 14)),  # not delivered
        Send("bob", "reactivation", "email", "sent", at("2024-03-01", 12)),
        Send("cy", "browse_abandonment", "email", "sent", at("2024-03-01", 12)),
    ]
    orders = [
        order("ann", "2024-03-02", "40.00", hour=15),  # last delivered: the 13:00 email
        order("bob", "2024-03-06", "25.00", hour=12),  # exactly 5 days after: counts
        order("cy", "2024-03-06", "99.00", hour=12, minute=1),  # a minute too late
        order("dee", "2024-03-03", "10.00"),  # no message at all
    ]
    kpis = kpis_of(ShopRecords(orders=orders, sends=sends))
    assert {k: (a.orders, a.revenue) for k, a in kpis.attributed.items()} == {
        "cart_recovery": (1, Decimal("40.00")),
        "reactivation": (1, Decimal("25.00")),
    }
    assert kpis_as_json(kpis)["attributed"]["reactivation"] == {"orders": 1, "revenue": "25.00"}
