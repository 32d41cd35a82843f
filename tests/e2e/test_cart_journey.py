"""The shipped abandoned-cart journey on the local stack, step by step on the simulated clock:
push at 30 minutes, email with a restore-cart link at 4 hours, a last email at 24 hours; it
ends on an order, a return to the cart or an emptied cart, and re-entry waits 7 days."""

import json
import threading
import urllib.parse
from datetime import timedelta

from comeback import wiring
from comeback.adapters.queues import QueuePublisher
from comeback.domain.timers import CART_RECOVERY
from comeback.models.journey import default_cart_journey, default_winback_journey
from comeback.services.sweeping import sweep

from tests.conftest import START, make_shop
from tests.e2e.test_omnichannel import add_to_cart, everywhere_customer
from tests.support import profile_of, sent_emails, shop_items, subscribe

# The shipped journeys, with nobody held out: these tests follow one person through them.
JOURNEYS = {
    "cart_recovery": default_cart_journey().model_copy(update={"holdout_percent": 0}),
    "reactivation": default_winback_journey().model_copy(update={"holdout_percent": 0}),
}


def journey_shop(stack, **settings):
    # Quiet hours off: the steps fall due at night on the simulated clock.
    return make_shop(
        stack, START, journeys=JOURNEYS, quiet_hours_start=None, quiet_hours_end=None, **settings
    )


def records(stack, shop):
    """(step, status, channel) of each journey step handled, in step order."""
    sends = [r for r in shop_items(stack, shop.shop_id, "send") if r.get("step") is not None]
    return sorted(
        (int(r["step"]), r["status"], (r.get("detail") or "").split(":")[0]) for r in sends
    )


def test_push_then_email_then_a_last_email_each_once_and_nothing_after(stack):
    shop = journey_shop(stack)
    email = f"ann-{shop.shop_id}@example.com"
    browser = stack.push_peer.new_subscriber()
    everywhere_customer(shop, email)
    subscribe(shop, browser)
    add_to_cart(shop, "sku-1", START)

    stack.tick(START + timedelta(minutes=29))
    assert stack.push_peer.received(browser) == [] and sent_emails(stack, email) == []

    stack.tick(START + timedelta(minutes=31))
    [payload] = stack.push_peer.received(browser)
    assert json.loads(payload)["tag"] == "cart_recovery"
    assert sent_emails(stack, email) == []

    stack.tick(START + timedelta(hours=3, minutes=59))
    assert sent_emails(stack, email) == []
    stack.tick(START + timedelta(hours=4, minutes=1))
    [first] = sent_emails(stack, email)
    assert first["Subject"].startswith("You left something in your cart")
    # The link goes through click tracking to our signed restore-cart page.
    text = first.get_body(("plain",)).get_content()
    link = next(w for w in text.split() if "/v1/click?t=" in w)
    assert urllib.parse.urlsplit(link).path == "/v1/click"

    stack.tick(START + timedelta(hours=24, minutes=1))
    emails = sent_emails(stack, email)
    assert len(emails) == 2
    assert any(e["Subject"].startswith("Still thinking it over?") for e in emails)

    for hours in (25, 48, 24 * 8):
        stack.tick(START + timedelta(hours=hours))
    assert len(sent_emails(stack, email)) == 2 and len(stack.push_peer.received(browser)) == 1
    assert records(stack, shop) == [(0, "sent", "push"), (1, "sent", "email"), (2, "sent", "email")]
    assert not [t for t in shop_items(stack, shop.shop_id, "timer") if t["timer"] == CART_RECOVERY]


def test_without_a_browser_subscription_the_first_step_is_skipped_and_email_follows(stack):
    shop = journey_shop(stack)
    email = f"bo-{shop.shop_id}@example.com"
    everywhere_customer(shop, email)
    add_to_cart(shop, "sku-1", START)
    stack.tick(START + timedelta(minutes=31))
    stack.tick(START + timedelta(hours=4, minutes=1))
    assert len(sent_emails(stack, email)) == 1
    assert records(stack, shop) == [(0, "skipped", "no_consent"), (1, "sent", "email")]


def test_an_order_between_steps_ends_the_journey(stack):
    shop = journey_shop(stack)
    email = f"cy-{shop.shop_id}@example.com"
    everywhere_customer(shop, email)
    add_to_cart(shop, "sku-1", START)
    stack.tick(START + timedelta(minutes=31))
    stack.tick(START + timedelta(hours=4, minutes=1))
    assert len(sent_emails(stack, email)) == 1
    # She buys on her phone (another anonymous id, known by her email) before the last step.
    stack.clock.set(START + timedelta(hours=6))
    shop.post("/v1/identify", {"anonymousId": "phone-1", "traits": {"email": email}})
    shop.post(
        "/v1/track",
        {
            "anonymousId": "phone-1",
            "event": "Order Completed",
            "timestamp": (START + timedelta(hours=6)).isoformat(),
            "properties": {"order_id": "o-1", "total": 10},
        },
    )
    for hours in (6, 25, 72):
        stack.tick(START + timedelta(hours=hours))
    assert len(sent_emails(stack, email)) == 1


def test_coming_back_to_the_cart_ends_the_journey_and_re_entry_waits_seven_days(stack):
    shop = journey_shop(stack)
    email = f"di-{shop.shop_id}@example.com"
    everywhere_customer(shop, email)
    add_to_cart(shop, "sku-1", START)
    stack.tick(START + timedelta(minutes=31))  # step 1 (push) skipped: no browser; entered
    # Two hours in, she looks at her cart again and leaves.
    stack.clock.set(START + timedelta(hours=2))
    shop.post(
        "/v1/track",
        {
            "anonymousId": "anon-1",
            "event": "Cart Viewed",
            "timestamp": (START + timedelta(hours=2)).isoformat(),
            "properties": {"products": [{"product_id": "sku-1", "quantity": 1, "price": 10}]},
        },
    )
    for hours in (4.1, 24.1, 24 * 6):
        stack.tick(START + timedelta(hours=hours))
    assert sent_emails(stack, email) == []
    # A week after she entered, the unchanged cart starts the journey again, its steps
    # counted from that start: the email comes four hours later, not right behind step 1.
    stack.tick(START + timedelta(days=7, minutes=31))
    stack.tick(START + timedelta(days=7, hours=1))
    assert sent_emails(stack, email) == []
    stack.tick(START + timedelta(days=7, hours=4, minutes=31))
    assert len(sent_emails(stack, email)) == 1


def test_three_overlapping_sweeps_send_each_step_once(stack):
    shop = journey_shop(stack)
    people = [f"p{i}-{shop.shop_id}@example.com" for i in range(3)]
    for i, email in enumerate(people):
        phone = f"+49151234567{i}0"  # each their own number: a shared one is one person
        everywhere_customer(shop, email, user=f"u{i}", anonymous=f"anon-{i}", phone=phone)
        add_to_cart(shop, f"sku-{i}", START, anonymous=f"anon-{i}")
    stack.process_events()
    store = stack.store()
    publisher = QueuePublisher(wiring.client("sqs"), stack.aws.send_queue_url)

    def overlapping_runs(moment):
        stack.clock.set(moment)
        runs = [
            threading.Thread(
                target=sweep,
                args=(store, publisher, CART_RECOVERY),
                kwargs={"now": moment, "lease": timedelta(minutes=15), "max_items": 100},
            )
            for _ in range(3)
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
        stack.send_messages()

    for moment in (
        START + timedelta(minutes=31),
        START + timedelta(hours=4, minutes=1),
        START + timedelta(hours=4, minutes=2),  # the same steps again, nothing new due
        START + timedelta(hours=24, minutes=1),
        START + timedelta(hours=24, minutes=20),  # past the lease: a crashed claim would repeat
    ):
        overlapping_runs(moment)
    for email in people:
        assert len(sent_emails(stack, email)) == 2
    handled = records(stack, shop)
    assert handled.count((1, "sent", "email")) == 3 and handled.count((2, "sent", "email")) == 3
    assert len(handled) == 9  # three people, three steps each, one record per step
    assert all(profile_of(stack, shop.shop_id, f"u{i}").messages.sent == 2 for i in range(3))


def test_a_guest_who_signs_in_between_steps_keeps_the_journey_on_the_merged_profile(stack):
    shop = journey_shop(stack)
    email = f"gus-{shop.shop_id}@example.com"
    everywhere_customer(shop, email)  # the account, known on another device
    add_to_cart(shop, "sku-1", START, anonymous="guest-device")
    stack.tick(START + timedelta(minutes=31))  # step 1 (push): the guest has no browser sub
    stack.clock.set(START + timedelta(hours=1))
    shop.post(
        "/v1/identify",
        {"userId": "u1", "anonymousId": "guest-device"},
        key=shop.keys.secret_key,
    )
    for moment in (
        timedelta(hours=1),
        timedelta(hours=4, minutes=1),
        timedelta(hours=24, minutes=1),
    ):
        stack.tick(START + moment)
    emails = sent_emails(stack, email)
    assert len(emails) == 2 and "Item sku-1" in emails[0].get_body(("plain",)).get_content()
    for hours in (30, 72):
        stack.tick(START + timedelta(hours=hours))
    assert len(sent_emails(stack, email)) == 2
