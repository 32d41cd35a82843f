"""The weekly value fit on the local stack: orders in through the API, the valuation handler
run, every buyer scored on their profile, and a profile changed meanwhile left for next run."""

import random
from datetime import timedelta

import pytest
from comeback import wiring
from comeback.adapters.valuations import Valuations
from comeback.clock import iso
from comeback.domain.value.scoring import MIN_REPEAT_BUYERS

from tests.conftest import START, make_shop
from tests.support import profile_of


def order(user: str, number: int, total: int, at) -> dict:
    return {
        "type": "track",
        "userId": user,
        "event": "Order Completed",
        "timestamp": at.isoformat(),
        "properties": {"order_id": f"{user}-{number}", "total": total, "currency": "USD"},
    }


def test_the_value_fit_scores_every_buyer(stack):
    shop = make_shop(stack)
    batch = []
    # 60 customers who buy and spend as BG/NBD and Gamma-Gamma assume: at their own Poisson
    # rate until they drop out, each spending around their own mean; seeded, so repeatable.
    draw = random.Random(7)
    for n in range(60):
        rate, dropout = draw.gammavariate(0.5, 1 / 2), draw.betavariate(0.8, 2.4)
        mean_spend = 1 / draw.gammavariate(4.0, 1 / 15)
        at, k = START + timedelta(days=n % 30), 0
        while at < START + timedelta(weeks=39) and k < 8:
            batch.append(order(f"c{n}", k, round(draw.gammavariate(6.0, mean_spend), 2), at))
            if k and draw.random() < dropout:
                break
            at, k = at + timedelta(weeks=draw.expovariate(rate)), k + 1
    days: dict[str, set] = {}
    for o in batch:
        days.setdefault(o["userId"], set()).add(o["timestamp"][:10])
    repeaters = {user for user, bought_on in days.items() if len(bought_on) > 1}
    stack.clock.set(START + timedelta(weeks=40))  # the history is in the past
    status, _ = shop.post("/v1/batch", {"batch": batch}, key=shop.keys.secret_key)
    assert status == 200
    stack.process_events()

    result = stack.functions["valuation"].invoke({"shop_id": shop.shop_id})

    assert result == {"shops": [{"shop_id": shop.shop_id, "buyers": 60, "scored": 60}]}
    by_orders = sorted(
        (profile_of(stack, shop.shop_id, f"c{n}") for n in range(60)),
        key=lambda p: p.orders.count,
    )
    one_off, regular = by_orders[0], by_orders[-1]
    assert one_off.orders.count == 1 and regular.orders.count >= 4
    assert regular.value and one_off.value
    model = Valuations(wiring.client("dynamodb"), stack.aws.table_name).get_model(shop.shop_id)
    assert model.get("not_fitted_because") is None
    assert 0 < regular.value.probability_alive < 1
    assert one_off.value.probability_alive == 1.0  # BG/NBD: no repeat, no chance to drop out
    now = stack.clock.now()
    recent_regulars = [
        p for p in by_orders if p.orders.count >= 2 and now - p.orders.last_at < timedelta(weeks=12)
    ]
    one_offs = [p for p in by_orders if p.orders.count == 1]
    assert recent_regulars and one_offs

    def mean_value(profiles):
        return sum(p.value.predicted_value for p in profiles) / len(profiles)

    assert mean_value(recent_regulars) > 2 * mean_value(one_offs) > 0
    assert len(regular.value.rfm) == 3 and regular.value.segment
    model = Valuations(wiring.client("dynamodb"), stack.aws.table_name).get_model(shop.shop_id)
    assert model["customers"] == 60
    assert model["repeat_customers"] == len(repeaters) >= MIN_REPEAT_BUYERS
    assert model["bgnbd"]["r"] > 0 and model["gamma_gamma"]["q"] > 1


def test_a_profile_changed_after_the_read_keeps_its_new_data(stack):
    shop = make_shop(stack)
    stack.clock.set(START + timedelta(days=30))
    status, _ = shop.post(
        "/v1/batch",
        {"batch": [order("solo", 0, 30, START), order("solo", 1, 40, START + timedelta(days=9))]},
        key=shop.keys.secret_key,
    )
    assert status == 200
    stack.process_events()
    valuations = Valuations(wiring.client("dynamodb"), stack.aws.table_name)
    [buyer] = list(valuations.buyers(shop.shop_id))
    profile_id, version = buyer.profile_id, buyer.version
    # Another order lands between the fit's read and its write.
    shop.post(
        "/v1/track", order("solo", 2, 50, START + timedelta(days=20)), key=shop.keys.secret_key
    )
    stack.process_events()
    from comeback.models.profile import ProfileValue

    stale = ProfileValue(scored_at=START, rfm="111", segment="lost")
    assert valuations.set_value(shop.shop_id, profile_id, version, stale) is False
    profile = profile_of(stack, shop.shop_id, "solo")
    assert profile.value is None and profile.orders.count == 3


def test_a_p_alive_threshold_moves_repeat_buyers_winbacks(stack):
    from comeback.domain.timers import MIN_QUIET_FOR_WINBACK, REACTIVATION
    from comeback.domain.value import bgnbd
    from comeback.domain.value.bgnbd import BgNbdParams

    shop = make_shop(stack, reactivation_p_alive_below=0.5)
    draw = random.Random(11)
    batch = []
    for n in range(60):
        rate, dropout = draw.gammavariate(0.5, 1 / 2), draw.betavariate(0.8, 2.4)
        at, k = START + timedelta(days=n % 30), 0
        while at < START + timedelta(weeks=39) and k < 8:
            batch.append(order(f"p{n}", k, 20, at))
            if k and draw.random() < dropout:
                break
            at, k = at + timedelta(weeks=draw.expovariate(rate)), k + 1
    stack.clock.set(START + timedelta(weeks=40))
    assert shop.post("/v1/batch", {"batch": batch}, key=shop.keys.secret_key)[0] == 200
    stack.process_events()
    stack.functions["valuation"].invoke({"shop_id": shop.shop_id})

    model = Valuations(wiring.client("dynamodb"), stack.aws.table_name).get_model(shop.shop_id)
    params = BgNbdParams(**{k: float(v) for k, v in model["bgnbd"].items()})
    repeaters = [
        p
        for p in (profile_of(stack, shop.shop_id, f"p{n}") for n in range(60))
        if p.orders.occasions and p.orders.occasions > 1
    ]
    assert repeaters
    for profile in repeaters:
        when = profile.value.reactivate_at
        assert when is not None
        weeks = (when - datetime_at_day(profile.orders.first_at)).total_seconds() / 86400 / 7
        x = profile.orders.occasions - 1
        t_x = (profile.orders.last_at.date() - profile.orders.first_at.date()).days / 7
        if weeks > t_x + 1e-6:
            assert bgnbd.probability_alive(params, x, t_x, weeks) == pytest.approx(0.5)
        timer = timer_of(stack, shop, profile)
        assert timer["timer"] == REACTIVATION
        expected = max(when, profile.last_activity_at + MIN_QUIET_FOR_WINBACK)
        assert timer["due_at"] == iso(expected)


def datetime_at_day(moment):
    from datetime import UTC, datetime, time

    return datetime.combine(moment.date(), time(), tzinfo=UTC)


def timer_of(stack, shop, profile):
    from comeback import keys
    from comeback.adapters.dynamo_types import from_item, to_item

    answer = stack.aws.client("dynamodb").get_item(
        TableName=stack.aws.timers_table_name,
        Key=to_item(
            {"pk": keys.profile_pk(shop.shop_id, profile.profile_id), "sk": "TIMER#reactivation"}
        ),
    )
    return from_item(answer["Item"])
