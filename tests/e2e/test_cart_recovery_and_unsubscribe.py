"""From an abandoned cart to an email, and from the email's link to an unsubscribe."""

import json
import re
import urllib.parse
from datetime import timedelta

from tests.conftest import START
from tests.support import moto_sent_emails, profile_of, sent_emails, shop_items


def _abandon_cart(shop, email, user="u1", anonymous="anon-1"):
    shop.post(
        "/v1/identify",
        {
            "userId": user,
            "anonymousId": anonymous,
            "traits": {"email": email, "email_consent": True, "first_name": "Ann"},
        },
    )
    shop.post(
        "/v1/track",
        {
            "anonymousId": anonymous,
            "event": "Product Added",
            "properties": {"product_id": "sku-1", "name": "Blue Mug", "price": 12.5, "quantity": 2},
        },
    )


def test_an_untouched_cart_gets_one_reminder_with_one_click_unsubscribe(stack, shop):
    email = f"ann-{shop.shop_id}@example.com"
    _abandon_cart(shop, email)
    # Half an hour later nothing is due yet
    stack.tick(START + timedelta(minutes=30))
    assert sent_emails(stack, email) == []
    # After the one-hour delay: one reminder
    stack.tick(START + timedelta(hours=1, minutes=5))
    [reminder] = sent_emails(stack, email)
    assert "Blue Mug" in reminder.get_body(("plain",)).get_content()
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Later, overlapping and repeated sweeps send nothing more
    for hours in (2, 2, 30, 300):
        stack.tick(START + timedelta(hours=hours))
    assert len(sent_emails(stack, email)) == 1
    assert profile_of(stack, shop.shop_id, "u1").messages.sent == 1
    # What the tests' outbox noted is what moto's SES holds.
    [held] = moto_sent_emails(stack, email)
    assert held["Message-ID"] == reminder["Message-ID"]
    assert held.get_body(("plain",)).get_content() == reminder.get_body(("plain",)).get_content()


def test_an_order_from_another_device_cancels_the_reminder(stack, shop):
    email = f"bob-{shop.shop_id}@example.com"
    _abandon_cart(shop, email)
    stack.process_events()
    # The same person orders from a phone: new anonymous id, known by email only
    shop.post("/v1/identify", {"anonymousId": "phone-1", "traits": {"email": email.upper()}})
    shop.post(
        "/v1/track",
        {"anonymousId": "phone-1", "event": "Order Completed", "properties": {"total": 25}},
    )
    stack.tick(START + timedelta(hours=3))
    assert sent_emails(stack, email) == []
    profile = profile_of(stack, shop.shop_id, "u1")
    assert profile.orders.count == 1 and profile.cart is None


def test_consent_withdrawn_after_the_claim_means_no_email(stack, shop):
    email = f"cy-{shop.shop_id}@example.com"
    _abandon_cart(shop, email)
    stack.process_events()
    stack.clock.set(START + timedelta(hours=2))
    stack.run_sweeps()  # the job is on the send queue now
    shop.post(
        "/v1/track",
        {
            "userId": "u1",
            "event": "Consent Updated",
            "timestamp": (START + timedelta(hours=1, minutes=59)).isoformat(),
            "properties": {"channel": "email", "granted": False},
        },
    )
    stack.process_events()
    stack.send_messages()
    assert sent_emails(stack, email) == []
    [record] = shop_items(stack, shop.shop_id, "send")
    assert (record["status"], record["detail"]) == ("skipped", "no_consent")


def test_get_confirms_post_unsubscribes_and_a_forged_link_is_refused(stack, shop):
    email = f"dee-{shop.shop_id}@example.com"
    _abandon_cart(shop, email)
    stack.tick(START + timedelta(hours=2))
    [reminder] = sent_emails(stack, email)
    link = reminder["List-Unsubscribe"].strip("<>")
    path = link.removeprefix(stack.api.url)

    # A link scanner's GET shows a page and changes nothing
    status, page = shop.get(path)
    assert status == 200 and "<form" in page
    assert profile_of(stack, shop.shop_id, "u1").has_consent("email")

    # A forged or altered token is refused
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0]
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    status, _ = shop.post(
        f"/v1/unsubscribe?t={altered}",
        None,
        raw=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 400
    assert profile_of(stack, shop.shop_id, "u1").has_consent("email")

    # The mail client's one-click POST unsubscribes at once, with no login
    status, page = shop.post(
        path,
        None,
        raw=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and "unsubscribed" in page
    profile = profile_of(stack, shop.shop_id, "u1")
    assert not profile.has_consent("email")
    assert profile.consent["email"].source == "unsubscribe_link"

    # And the next cart gets no reminder
    shop.post(
        "/v1/track",
        {
            "userId": "u1",
            "event": "Product Added",
            "timestamp": (START + timedelta(hours=3)).isoformat(),
            "properties": {"product_id": "sku-2"},
        },
    )
    stack.tick(START + timedelta(hours=5))
    assert len(sent_emails(stack, email)) == 1
    assert re.search(
        r"no_consent", json.dumps(shop_items(stack, shop.shop_id, "send"), default=str)
    )
