"""The weekly value fit on the local stack: orders in through the API, the valuation handler
run, every buyer scored on their profile, and a profile changed meanwhile left for next run."""

import random
from datetime import timedelta

from comeback import wiring
from comeback.adapters.valuations import Valuations
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
    [(profile_id, version, _)] = list(valuations.buyers(shop.shop_id))
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
