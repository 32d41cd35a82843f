"""Customer value from the counters a profile keeps: the same summaries, and so the same
published parameters, as the models fitted on the raw CDNOW orders."""

from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from comeback.domain.profiles import apply_event, new_profile
from comeback.domain.value.scoring import (
    MIN_REPEAT_BUYERS,
    OrderCounters,
    fit_shop,
    summary_of,
    value_of,
)
from comeback.domain.value.summary import summarise
from comeback.local.datasets import read_cdnow
from comeback.models.events import SegmentMessage
from comeback.models.profile import Profile
from comeback.models.shop import ShopSettings

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "CDNOW_sample.txt"
CALIBRATION_END = date(1997, 9, 30)
NOW = datetime.combine(CALIBRATION_END, time(23, 0), UTC)


def counters(profile: Profile) -> OrderCounters:
    stats = profile.orders
    assert stats.first_at and stats.last_at
    return OrderCounters(
        stats.count, stats.revenue, stats.first_at, stats.last_at,
        stats.occasions, stats.first_day_revenue,
    )  # fmt: skip


def order(customer: str, number: int, day: date, value: Decimal) -> SegmentMessage:
    return SegmentMessage.model_validate(
        {
            "type": "track",
            "userId": customer,
            "event": "Order Completed",
            "properties": {"order_id": f"{customer}-{number}", "total": str(value)},
        }
    )


@pytest.fixture(scope="module")
def profiles() -> dict[str, Profile]:
    """The calibration orders applied to profiles by the processor's own domain function."""
    by_customer: dict[str, Profile] = {}
    numbers: defaultdict[str, int] = defaultdict(int)
    for row in read_cdnow(SAMPLE):
        if row.day > CALIBRATION_END:
            continue
        at = datetime.combine(row.day, time(12, 0), UTC)
        profile = by_customer.get(row.customer_id) or new_profile("s", row.customer_id, at)
        numbers[row.customer_id] += 1
        message = order(row.customer_id, numbers[row.customer_id], row.day, row.value)
        by_customer[row.customer_id] = apply_event(
            profile, message, at, [], ShopSettings(), at, trusted=True
        )
    return by_customer


def test_profile_counters_give_the_summaries_of_the_raw_orders(profiles):
    exact = summarise(
        [(o.customer_id, o.day, o.value) for o in read_cdnow(SAMPLE)], CALIBRATION_END
    )
    assert len(profiles) == len(exact) == 2357
    for customer, profile in profiles.items():
        mine, theirs = summary_of(counters(profile), NOW), exact[customer]
        assert mine.frequency == theirs.frequency, customer
        assert mine.recency == pytest.approx(theirs.recency), customer
        assert mine.age == pytest.approx(theirs.age), customer
        assert mine.monetary == pytest.approx(theirs.monetary), customer


def test_the_shop_fit_from_profiles_reproduces_the_published_parameters(profiles):
    model = fit_shop([counters(p) for p in profiles.values()], NOW)
    assert model.bgnbd is not None and model.gamma_gamma is not None
    assert model.customers == 2357
    bg, gg = model.bgnbd, model.gamma_gamma
    assert (round(bg.r, 3), round(bg.alpha, 3), round(bg.a, 3), round(bg.b, 3)) == (
        0.243, 4.414, 0.793, 2.426,
    )  # fmt: skip
    assert (round(gg.p, 2), round(gg.q, 2), round(gg.gamma, 2)) == (6.25, 3.74, 15.44)


def test_customer_scores(profiles):
    buyers = [counters(p) for p in profiles.values()]
    model = fit_shop(buyers, NOW)
    values = {
        customer: value_of(counters(p), model, NOW, horizon_weeks=39, discount_rate_per_week=0.0)
        for customer, p in profiles.items()
    }
    # The paper's worked example is the file's first customer, id 4 (x = 2, t_x = 30.43,
    # T = 38.86).
    first = values["4"]
    assert first.expected_purchases == pytest.approx(1.226, abs=5e-4)
    assert 0 < first.probability_alive < 1 and first.predicted_value > 0
    # Three purchase days in 38.86 weeks since the first: 4.01 a year
    assert first.purchases_per_year == pytest.approx(3 / 38.857 * 52, abs=0.01)
    # Recent regulars are worth far more than customers who bought little long ago.
    regulars = [v for v in values.values() if v.segment == "champions"]
    lost = [v for v in values.values() if v.segment == "lost"]
    assert regulars and lost
    mean = lambda vs: sum(v.predicted_value for v in vs) / len(vs)  # noqa: E731
    assert mean(regulars) > 5 * mean(lost)


def test_a_day_with_two_orders_is_one_purchase_occasion():
    at = datetime(2024, 5, 1, 9, tzinfo=UTC)
    profile = new_profile("s", "p", at)
    for number, (hour, day, value) in enumerate(
        [(9, 1, "10"), (18, 1, "5"), (9, 8, "20"), (19, 8, "20"), (9, 3, "7")]
    ):
        moment = datetime(2024, 5, day, hour, tzinfo=UTC)
        profile = apply_event(
            profile, order("p", number, moment.date(), Decimal(value)), moment, [],
            ShopSettings(), moment, trusted=True,
        )  # fmt: skip
    stats = profile.orders
    assert (stats.count, stats.occasions, stats.first_day_revenue) == (5, 3, Decimal(15))
    summary = summary_of(counters(profile), datetime(2024, 5, 15, tzinfo=UTC))
    assert summary.frequency == 2 and summary.monetary == pytest.approx((40 + 7) / 2)


def test_too_few_repeat_buyers_gives_rfm_only():
    at = datetime(2024, 5, 1, tzinfo=UTC)
    one_off = [OrderCounters(1, Decimal(10), at, at, 1, Decimal(10))] * (MIN_REPEAT_BUYERS * 3)
    model = fit_shop(one_off, at)
    assert model.bgnbd is None and "repeat customers" in (model.not_fitted_because or "")
    value = value_of(one_off[0], model, at, horizon_weeks=52, discount_rate_per_week=0.0)
    assert value.segment and value.probability_alive is None and value.predicted_value is None
