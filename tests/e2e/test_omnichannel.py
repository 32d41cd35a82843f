"""Push, email and SMS on the local stack: the first channel with consent wins, withdrawing
consent moves the next message on, the frequency cap holds, quiet hours wait for the morning,
and each push service answer is handled as its status says."""

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

from comeback.domain.push_events import PUSH_SUBSCRIBED

from tests.conftest import START, make_shop
from tests.support import profile_of, sent_emails, shop_items, subscribe

PHONE = "+4915123456780"


def everywhere_customer(shop, email, user="u1", anonymous="anon-1", **traits):
    # From the shop's backend (secret key): SMS consent from the public write key never counts.
    shop.post(
        "/v1/identify",
        {
            "userId": user,
            "anonymousId": anonymous,
            "traits": {
                "email": email,
                "phone": PHONE,
                "consent": {"email": True, "sms": True},
                **traits,
            },
        },
        key=shop.keys.secret_key,
    )


def add_to_cart(shop, sku, at, anonymous="anon-1"):
    shop.post(
        "/v1/track",
        {
            "anonymousId": anonymous,
            "event": "Product Added",
            "timestamp": at.isoformat(),
            "properties": {"product_id": sku, "name": f"Item {sku}", "price": 10, "quantity": 1},
        },
    )


def sends(stack, shop):
    records = [r for r in shop_items(stack, shop.shop_id, "send") if r["status"] == "sent"]
    return sorted((r["created_at"], r["message_kind"], r["detail"].split(":")[0]) for r in records)


def test_one_reminder_goes_by_the_first_channel_only_and_withdrawn_push_moves_on(stack):
    shop = make_shop(stack, START, cap_window_hours=1)
    browser = stack.push_peer.new_subscriber()
    email = f"ann-{shop.shop_id}@example.com"
    everywhere_customer(shop, email)
    subscribe(shop, browser)
    add_to_cart(shop, "sku-1", START)
    stack.tick(START + timedelta(hours=1, minutes=5))

    [payload] = stack.push_peer.received(browser)
    message = json.loads(payload)
    assert message["title"] == "Your cart at Test Shop " + shop.shop_id.removeprefix("shop-")
    assert "1 item" in message["body"] and message["tag"] == "cart_recovery"
    assert sent_emails(stack, email) == []
    assert [channel for _, _, channel in sends(stack, shop)] == ["push"]

    # The tap lands on the tracking redirect, which records it and forwards to the cart.
    link = urllib.parse.urlsplit(message["url"])
    assert link.path == "/v1/click"
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(message["url"], timeout=10)
        raise AssertionError("expected a redirect")
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        # ...our signed restore-cart page, which shows the cart and leads to the checkout.
        cart_page = redirect.headers["Location"]
        assert cart_page.startswith(f"{stack.api.url}/v1/cart?t=")
    with urllib.request.urlopen(cart_page, timeout=10) as page:
        html = page.read().decode()
    assert "Item sku-1" in html and 'href="https://shop.example.com/cart"' in html
    [sent] = [r for r in shop_items(stack, shop.shop_id, "send") if r["status"] == "sent"]
    assert sent["clicks"] == 1

    # Push consent withdrawn: the next reminder goes by email, the browser hears nothing.
    later = START + timedelta(hours=3)
    stack.clock.set(later)
    shop.post(
        "/v1/track",
        {
            "anonymousId": "anon-1",
            "event": "Consent Updated",
            "properties": {"channel": "push", "granted": False},
        },
    )
    add_to_cart(shop, "sku-2", later)
    stack.tick(later + timedelta(hours=1, minutes=5))
    assert len(stack.push_peer.received(browser)) == 1
    [reminder] = sent_emails(stack, email)
    assert "Item sku-2" in reminder.get_body(("plain",)).get_content()
    assert [channel for _, _, channel in sends(stack, shop)] == ["push", "email"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_push_to_four_browsers_answering_201_410_413_and_429(stack):
    shop = make_shop(stack, START)
    peer = stack.push_peer
    ok, gone, too_big, busy = (
        peer.new_subscriber([201]),
        peer.new_subscriber([410]),
        peer.new_subscriber([413]),
        peer.new_subscriber([(429, {"Retry-After": "1"}), 201]),
    )
    for browser in (ok, gone, too_big, busy):
        subscribe(shop, browser)
    add_to_cart(shop, "sku-1", START)
    stack.tick(START + timedelta(hours=1, minutes=5))

    # The 429 one was parked and delivered on the retry; every body decrypted as sent.
    payloads = {b: peer.received(b) for b in (ok, gone, too_big, busy)}
    assert len(payloads[ok]) == 1 and len(payloads[busy]) == 1
    assert payloads[gone] == [] and payloads[too_big] == []
    assert json.loads(payloads[ok][0]) == json.loads(payloads[busy][0])
    items = shop_items(stack, shop.shop_id, "push_subscription")
    live = {i["endpoint"] for i in items if "removed_at" not in i}
    assert live == {b.subscription.endpoint for b in (ok, too_big, busy)}
    [ended] = [i for i in items if "removed_at" in i]
    assert ended["endpoint"] == gone.subscription.endpoint and ended["gone"] is True
    [record] = [r for r in shop_items(stack, shop.shop_id, "send") if r["sk"].count("#") == 2]
    assert record["status"] == "sent" and record["detail"].startswith("push:2 browser")
    # Later sweeps send nothing more to anyone.
    stack.tick(START + timedelta(hours=5))
    assert [len(peer.received(b)) for b in (ok, busy)] == [1, 1]


def test_three_due_messages_inside_the_cap_window_send_one(stack):
    shop = make_shop(stack, START, reactivation_after_days=1)
    email = f"cap-{shop.shop_id}@example.com"
    everywhere_customer(shop, email, user="u1")
    shop.post(
        "/v1/track",
        {"userId": "u1", "event": "Order Completed", "properties": {"total": 20}},
    )
    stack.process_events()
    # A day later the customer has lapsed: the win-back goes out (the one message allowed).
    day = START + timedelta(days=1, hours=1)
    stack.tick(day)
    # Then they fill a cart (reminder due an hour later) and change it again two hours later:
    # two more messages due inside the 16 h window.
    add_to_cart(shop, "sku-1", day, anonymous="anon-1")
    stack.tick(day + timedelta(hours=1, minutes=5))
    again = day + timedelta(hours=3)
    stack.clock.set(again)
    add_to_cart(shop, "sku-2", again, anonymous="anon-1")
    stack.tick(again + timedelta(hours=1, minutes=5))
    stack.tick(again + timedelta(hours=2))

    assert len(sent_emails(stack, email)) == 1
    records = shop_items(stack, shop.shop_id, "send")
    skipped = [r for r in records if r["status"] == "skipped" and r["detail"].startswith("capped")]
    assert [r["message_kind"] for r in records if r["status"] == "sent"] == ["reactivation"]
    assert [r["message_kind"] for r in skipped] == ["cart_recovery"] * 2  # recorded, not dropped


def test_a_reminder_due_at_half_past_eleven_local_waits_for_the_morning(stack):
    evening = datetime(2024, 1, 9, 21, 30, tzinfo=UTC)  # 22:30 in Berlin (CET)
    shop = make_shop(stack, evening)
    email = f"night-{shop.shop_id}@example.com"
    shop.post(
        "/v1/identify",
        {
            "userId": "u1",
            "anonymousId": "anon-1",
            "traits": {"email": email, "email_consent": True, "timezone": "Europe/Berlin"},
        },
    )
    add_to_cart(shop, "sku-1", evening)
    stack.tick(evening + timedelta(hours=1, minutes=1))  # 23:31 in Berlin: due, but quiet
    assert sent_emails(stack, email) == []
    stack.tick(datetime(2024, 1, 10, 6, 59, tzinfo=UTC))  # 07:59 in Berlin
    assert sent_emails(stack, email) == []
    stack.tick(datetime(2024, 1, 10, 7, 1, tzinfo=UTC))  # 08:01 in Berlin
    assert len(sent_emails(stack, email)) == 1
    assert profile_of(stack, shop.shop_id, "u1").timezone == "Europe/Berlin"


def test_sms_goes_when_it_is_the_only_consented_channel_and_an_opted_out_phone_falls_back(stack):
    shop = make_shop(stack, START, channel_order={"cart_recovery": ["sms", "email"]})
    email = f"sms-{shop.shop_id}@example.com"
    everywhere_customer(shop, email)
    add_to_cart(shop, "sku-1", START)
    stack.tick(START + timedelta(hours=1, minutes=5))
    assert [channel for _, _, channel in sends(stack, shop)] == ["sms"]
    assert sent_emails(stack, email) == []

    # moto reports numbers ending in 99 as opted out (a STOP reply to the carrier).
    other = make_shop(stack, START, channel_order={"cart_recovery": ["sms", "email"]})
    email = f"stop-{other.shop_id}@example.com"
    other.post(
        "/v1/identify",
        {
            "userId": "u2",
            "anonymousId": "anon-2",
            "traits": {
                "email": email,
                "phone": "+4915123456799",
                "consent": {"email": True, "sms": True},
            },
        },
        key=other.keys.secret_key,
    )
    add_to_cart(other, "sku-1", START, anonymous="anon-2")
    stack.tick(START + timedelta(hours=1, minutes=5))
    assert len(sent_emails(stack, email)) == 1
    profile = profile_of(stack, other.shop_id, "u2")
    assert not profile.has_consent("sms") and profile.consent["sms"].source == "sms_opt_out"


def test_the_push_public_key_is_served_to_the_site(stack, shop):
    status, body = shop.get("/v1/push/public-key")
    assert status == 200
    assert len(json.loads(body)["publicKey"]) == 87  # a 65-byte point, unpadded base64url


def test_a_subscription_the_push_call_gets_is_a_stored_tracking_event(stack, shop):
    browser = stack.push_peer.new_subscriber()
    subscribe(shop, browser, anonymous="anon-9")
    stack.process_events()
    [event] = [e for e in shop_items(stack, shop.shop_id, "event") if e["event"] == PUSH_SUBSCRIBED]
    assert event["type"] == "track"
