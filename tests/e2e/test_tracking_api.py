"""The tracking API over real HTTP, with the real handlers on the embedded AWS."""

import gzip
import json

from tests.conftest import make_shop
from tests.support import profile_of, shop_items


def test_an_unknown_write_key_gets_401_and_nothing_is_stored(stack, shop):
    status, body = shop.post("/v1/track", {"userId": "u1", "event": "X"}, key="wk_wrong")
    assert status == 401
    assert json.loads(body)["error"] == "unauthorized"
    status, _ = shop.post("/v1/track", {"userId": "u1", "event": "X"}, key="")
    assert status == 401
    stack.process_events()
    assert profile_of(stack, shop.shop_id, "u1") is None


def test_bad_input_gets_a_400_that_says_what_is_wrong(stack, shop):
    status, body = shop.post("/v1/track", None, raw=b"{not json")
    assert status == 400 and "not valid JSON" in json.loads(body)["message"]
    status, body = shop.post("/v1/track", {"userId": "u1"})
    assert status == 400 and "event" in json.loads(body)["message"]
    status, body = shop.post("/v1/identify", {"traits": {"name": "x"}})
    assert status == 400 and "userId or anonymousId" in json.loads(body)["message"]
    status, body = shop.post(
        "/v1/batch",
        {
            "batch": [
                {"type": "track", "userId": "u", "event": "E", "properties": {"x": "y" * 40_000}}
            ]
        },
    )
    assert status == 400 and "32 KB" in body
    status, _ = shop.post("/v1/batch", None, raw=b"x" * (600 * 1024))
    assert status == 400


def test_a_gzipped_batch_with_one_bad_event_keeps_the_good_ones(stack, shop):
    body = {
        "batch": [
            {
                "type": "identify",
                "userId": "u1",
                "messageId": "m1",
                "traits": {"email": "one@example.com"},
            },
            {"type": "track", "userId": "u1", "messageId": "m2"},
            {
                "type": "track",
                "userId": "u1",
                "messageId": "m3",
                "event": "Order Completed",
                "properties": {"order_id": "o1", "total": 12.34},
            },
        ]
    }
    status, answer = shop.post(
        "/v1/batch",
        None,
        raw=gzip.compress(json.dumps(body).encode()),
        headers={"Content-Encoding": "gzip"},
    )
    assert status == 200
    answer = json.loads(answer)
    assert answer["accepted"] == 2
    assert answer["rejected"][0]["messageId"] == "m2"
    stack.process_events()
    profile = profile_of(stack, shop.shop_id, "u1")
    assert profile.email == "one@example.com"
    assert profile.orders.count == 1 and str(profile.orders.revenue) == "12.34"


def test_a_retried_message_changes_nothing(stack, shop):
    order = {
        "userId": "u1",
        "messageId": "order-1",
        "event": "Order Completed",
        "properties": {"total": 10},
    }
    for _ in range(3):
        assert shop.post("/v1/track", order)[0] == 200
    stack.process_events()
    assert shop.post("/v1/track", order)[0] == 200
    stack.process_events()
    assert profile_of(stack, shop.shop_id, "u1").orders.count == 1
    assert len(shop_items(stack, shop.shop_id, "event")) == 1


def test_alias_screen_and_group_are_accepted_and_stored(stack, shop):
    assert shop.post("/v1/alias", {"userId": "u1", "previousId": "anon-1"})[0] == 200
    assert shop.post("/v1/screen", {"userId": "u1", "name": "Home"})[0] == 200
    assert shop.post("/v1/group", {"userId": "u1", "groupId": "g1"})[0] == 200
    assert shop.post("/v1/page", {"anonymousId": "anon-2", "name": "Home"})[0] == 200
    stack.process_events()
    types = sorted(item["type"] for item in shop_items(stack, shop.shop_id, "event"))
    assert types == ["alias", "group", "page", "screen"]
    assert stack.dead_letters() == {"events": 0, "send": 0}


def test_a_shops_write_key_never_reaches_another_shops_data(stack, shop):
    # Given the same user id in two shops
    other = _other_shop(stack)
    shop.post(
        "/v1/track", {"userId": "same", "event": "Order Completed", "properties": {"total": 1}}
    )
    other.post(
        "/v1/track",
        {
            "userId": "same",
            "event": "Order Completed",
            "properties": {"total": 1000, "shopId": shop.shop_id},
            "context": {"shop_id": shop.shop_id},
        },
    )
    stack.process_events()
    # Then each shop has its own profile with its own order
    assert str(profile_of(stack, shop.shop_id, "same").orders.revenue) == "1"
    assert str(profile_of(stack, other.shop_id, "same").orders.revenue) == "1000"


def test_unknown_routes_are_404(stack, shop):
    assert shop.post("/v1/nothing", {})[0] == 404
    assert shop.get("/v1/track")[0] == 405


def _other_shop(stack):
    return make_shop(stack)
