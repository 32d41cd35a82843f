"""One person, one profile: an anonymous visitor who signs up with an email that already has a
profile from another device ends up on that profile, cart, history and latest consent
included, and the cart journey continues there once."""

import threading
from datetime import timedelta

from comeback.models.shop import ShopSettings
from comeback.services.processing import process_event

from tests.conftest import START
from tests.journeys import SINGLE_REMINDER
from tests.support import profile_of, sent_emails, shop_items

RULES = ShopSettings(journeys=SINGLE_REMINDER)

RETENTION = timedelta(days=30)


def live_profiles(stack, shop_id):
    return [p for p in shop_items(stack, shop_id, "profile") if not p.get("merged_into")]


def test_signing_up_on_a_second_device_joins_the_known_profile(stack, shop):
    email = f"ann-{shop.shop_id}@example.com"
    stack.clock.set(START)
    secret = shop.keys.secret_key
    # Device A, yesterday: the shop's backend knows Ann, who said no to email then, and an order
    yesterday = (START - timedelta(days=1)).isoformat()
    assert (
        shop.post(
            "/v1/identify",
            {
                "userId": "ann",
                "traits": {"email": email, "email_consent": False},
                "timestamp": yesterday,
            },
            key=secret,
        )[0]
        == 200
    )
    order = {"order_id": "o-1", "total": 20, "currency": "USD"}
    assert (
        shop.post(
            "/v1/track",
            {
                "userId": "ann",
                "event": "Order Completed",
                "properties": order,
                "timestamp": yesterday,
            },
            key=secret,
        )[0]
        == 200
    )
    # Device B, today, anonymous: browses and adds to cart (the public write key)
    assert shop.post("/v1/page", {"anonymousId": "dev-b", "name": "Home"})[0] == 200
    mug = {"product_id": "mug", "name": "Blue Mug", "price": 12, "quantity": 1}
    assert (
        shop.post(
            "/v1/track", {"anonymousId": "dev-b", "event": "Product Added", "properties": mug}
        )[0]
        == 200
    )
    stack.process_events()
    assert len(live_profiles(stack, shop.shop_id)) == 2

    # Ten minutes later she signs up on device B; the backend identifies her (secret key)
    stack.clock.set(START + timedelta(minutes=10))
    assert (
        shop.post(
            "/v1/identify",
            {"anonymousId": "dev-b", "traits": {"email": email, "email_consent": True}},
            key=secret,
        )[0]
        == 200
    )
    stack.process_events()

    [live] = live_profiles(stack, shop.shop_id)
    ann = profile_of(stack, shop.shop_id, "ann")
    assert live["profile_id"] == ann.profile_id
    assert set(ann.cart.lines) == {"mug"}  # the cart
    assert "dev-b" in ann.anonymous_ids and ann.event_count == 5  # the history: 2 + 2 + 1
    assert ann.orders.count == 1 and ann.has_consent("email")  # the latest decision
    store = stack.store()
    assert store.find_links(shop.shop_id, ["anon:dev-b"]) == {"anon:dev-b": ann.profile_id}
    [absorbed] = [p for p in shop_items(stack, shop.shop_id, "profile") if p.get("merged_into")]
    assert absorbed["merged_into"] == ann.profile_id
    assert absorbed["profile_id"] in ann.merged_from

    # The cart journey continues on the merged profile: one reminder, once
    stack.tick(START + timedelta(hours=1, minutes=15))
    [reminder] = sent_emails(stack, email)
    assert "Blue Mug" in reminder.get_body(("plain",)).get_content()
    stack.tick(START + timedelta(hours=6))
    stack.tick(START + timedelta(days=2, hours=3))
    assert len(sent_emails(stack, email)) == 1
    # Later anonymous events on device B land on Ann's profile
    stack.clock.set(START + timedelta(days=2, hours=4))
    assert shop.post("/v1/page", {"anonymousId": "dev-b", "name": "Home"})[0] == 200
    stack.process_events()
    assert profile_of(stack, shop.shop_id, "ann").event_count == 6
    assert len(live_profiles(stack, shop.shop_id)) == 1


def test_a_shared_device_never_joins_two_accounts(stack, shop):
    stack.clock.set(START)
    secret = shop.keys.secret_key
    for user in ("ann", "bob"):
        body = {"userId": user, "anonymousId": "kiosk", "event": "Signed In"}
        assert shop.post("/v1/track", body, key=secret)[0] == 200
        stack.process_events()
    ann, bob = profile_of(stack, shop.shop_id, "ann"), profile_of(stack, shop.shop_id, "bob")
    assert ann.profile_id != bob.profile_id
    assert not ann.merged_from and not bob.merged_from


def test_two_user_ids_with_one_email_merge_and_the_old_id_still_finds_the_profile(stack, shop):
    stack.clock.set(START)
    secret, email = shop.keys.secret_key, f"cy-{shop.shop_id}@example.com"
    for user, total in (("cy-old", 10), ("cy-new", 15)):
        order = {"order_id": f"{user}-1", "total": total}
        track = {"userId": user, "event": "Order Completed", "properties": order}
        assert shop.post("/v1/track", track, key=secret)[0] == 200
    stack.process_events()
    # The backend learns both accounts share one address
    for user in ("cy-old", "cy-new"):
        assert (
            shop.post("/v1/identify", {"userId": user, "traits": {"email": email}}, key=secret)[0]
            == 200
        )
        stack.process_events()
    old, new = profile_of(stack, shop.shop_id, "cy-old"), profile_of(stack, shop.shop_id, "cy-new")
    assert old.profile_id == new.profile_id
    assert new.orders.count == 2 and new.orders.revenue == 25


def test_a_public_write_key_call_never_merges(stack, shop):
    stack.clock.set(START)
    email = f"dee-{shop.shop_id}@example.com"
    identify = {"userId": "dee", "traits": {"email": email}}
    assert shop.post("/v1/identify", identify, key=shop.keys.secret_key)[0] == 200
    assert shop.post("/v1/page", {"anonymousId": "stranger", "name": "Home"})[0] == 200
    stack.process_events()
    # Anyone can name Dee's address with the write key: that joins nothing
    forged = {"anonymousId": "stranger", "traits": {"email": email}}
    assert shop.post("/v1/identify", forged)[0] == 200
    stack.process_events()
    assert len(live_profiles(stack, shop.shop_id)) == 2
    assert not profile_of(stack, shop.shop_id, "dee").merged_from


def test_two_events_merging_the_same_profiles_at_once_end_in_one(stack, shop):
    from tests.integration.test_exactly_once import accepted

    stack.clock.set(START)
    secret = shop.keys.secret_key
    email = f"eve-{shop.shop_id}@example.com"
    assert (
        shop.post("/v1/identify", {"userId": "eve", "traits": {"email": email}}, key=secret)[0]
        == 200
    )
    for n in range(3):
        added = {"product_id": f"p{n}", "price": 3}
        track = {"anonymousId": "eve-phone", "event": "Product Added", "properties": added}
        assert shop.post("/v1/track", track)[0] == 200
    stack.process_events()
    store = stack.store()
    # Two sign-in events for the phone, processed at the same moment by two processors
    events = [
        accepted(
            shop.shop_id,
            {
                "anonymousId": "eve-phone",
                "messageId": f"race-{n}",
                "event": "Signed In",
                "context": {"traits": {"email": email}},
            },
        ).model_copy(update={"source": "server"})
        for n in range(2)
    ]
    barrier = threading.Barrier(2)
    outcomes = []

    def run(event):
        barrier.wait()
        outcomes.append(process_event(store, event, RULES, now=START, retention=RETENTION))

    threads = [threading.Thread(target=run, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["applied", "applied"]
    [live] = live_profiles(stack, shop.shop_id)
    eve = profile_of(stack, shop.shop_id, "eve")
    assert live["profile_id"] == eve.profile_id
    assert set(eve.cart.lines) == {"p0", "p1", "p2"}
    assert eve.event_count == 1 + 3 + 2  # nothing lost, nothing counted twice
    assert len(eve.merged_from) == 1


def test_a_loyalty_card_or_device_id_finds_the_profile_and_privacy_finds_it_too(stack, shop):
    stack.clock.set(START)
    secret = shop.keys.secret_key
    identify = {"userId": "gus", "traits": {"loyalty_card": "GC-100 200"}}
    assert shop.post("/v1/identify", identify, key=secret)[0] == 200
    stack.process_events()
    # An in-store purchase, named by the card as the till reads it (and a one-off visit id)
    order = {"order_id": "pos-1", "total": 9}
    track = {
        "anonymousId": "visit-81",
        "event": "Order Completed",
        "properties": order,
        "context": {"traits": {"loyalty_card": "gc100200"}, "device": {"id": "app-9"}},
    }
    assert shop.post("/v1/track", track, key=secret)[0] == 200
    stack.process_events()
    gus = profile_of(stack, shop.shop_id, "gus")
    assert gus.orders.count == 1 and "device:app-9" in gus.other_identifiers
    for query in ({"loyaltyCard": "gc-100200"}, {"deviceId": "app-9"}):
        status, body = shop_get_privacy(shop, query)
        assert status == 200 and body["profile"]["profile_id"] == gus.profile_id


def shop_get_privacy(shop, query):
    from tests.e2e.test_privacy import privacy_get

    return privacy_get(shop, "profile", shop.keys.secret_key, **query)


def test_a_new_account_with_a_known_email_joins_that_person(stack, shop):
    stack.clock.set(START)
    secret, email = shop.keys.secret_key, f"hal-{shop.shop_id}@example.com"
    for user in ("hal", "hal-shop-account"):
        identify = {"userId": user, "traits": {"email": email}}
        assert shop.post("/v1/identify", identify, key=secret)[0] == 200
        stack.process_events()
    first, second = (
        profile_of(stack, shop.shop_id, "hal"),
        profile_of(stack, shop.shop_id, "hal-shop-account"),
    )
    assert first.profile_id == second.profile_id
    assert len(live_profiles(stack, shop.shop_id)) == 1


def test_a_browser_copy_of_the_backends_call_does_not_pre_empt_it(stack, shop):
    stack.clock.set(START)
    secret, email = shop.keys.secret_key, f"ida-{shop.shop_id}@example.com"
    assert (
        shop.post("/v1/identify", {"userId": "ida", "traits": {"email": email}}, key=secret)[0]
        == 200
    )
    added = {"anonymousId": "ida-tab", "event": "Product Added", "properties": {"product_id": "p"}}
    assert shop.post("/v1/track", added)[0] == 200
    stack.process_events()
    # The same body, with no messageId, from the browser and then from the backend
    body = {"anonymousId": "ida-tab", "traits": {"email": email}}
    assert shop.post("/v1/identify", body)[0] == 200
    assert shop.post("/v1/identify", body, key=secret)[0] == 200
    stack.process_events()
    ida = profile_of(stack, shop.shop_id, "ida")
    assert set(ida.cart.lines) == {"p"} and len(live_profiles(stack, shop.shop_id)) == 1
