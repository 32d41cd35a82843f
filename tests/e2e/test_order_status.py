"""Order status messages on the local stack: the shop's backend reports an order's progress
and the customer gets one transactional email per order and status, at any hour and without
marketing consent; a browser cannot trigger one."""

from datetime import timedelta

from tests.conftest import START, make_shop
from tests.support import sent_emails


def customer(shop, email, *, consent=False):
    shop.post(
        "/v1/identify",
        {"userId": "c1", "traits": {"email": email, "email_consent": consent}},
        key=shop.keys.secret_key,
    )


def report(shop, event, order_id, message_id, *, key):
    status, body = shop.post(
        "/v1/track",
        {
            "userId": "c1",
            "event": event,
            "messageId": message_id,
            "properties": {"order_id": order_id, "total": 30},
        },
        key=key,
    )
    assert status == 200, body


def test_each_order_update_is_one_email_at_night_without_marketing_consent(stack):
    night = START.replace(hour=23)  # quiet hours hold marketing, not an order's news
    shop = make_shop(stack, night, order_status_messages={"enabled": True})
    email = f"ola-{shop.shop_id}@example.com"
    customer(shop, email)
    secret = shop.keys.secret_key
    report(shop, "Order Completed", "A-1", "m1", key=secret)
    report(shop, "Order Shipped", "A-1", "m2", key=secret)
    report(shop, "Order Shipped", "A-1", "m3", key=secret)  # the platform retried: no 2nd email
    stack.process_events()
    stack.send_messages()
    subjects = sorted(m["Subject"] for m in sent_emails(stack, email))
    assert subjects == ["Thank you for your order A-1", "Your order A-1 is on its way"]


def test_a_browser_cannot_trigger_one_and_a_shop_that_has_not_turned_them_on_sends_none(stack):
    shop = make_shop(stack, START, order_status_messages={"enabled": True})
    email = f"pia-{shop.shop_id}@example.com"
    customer(shop, email, consent=True)
    report(shop, "Order Shipped", "B-7", "m1", key=shop.keys.write_key)
    quiet = make_shop(stack, START)
    other = f"quinn-{quiet.shop_id}@example.com"
    customer(quiet, other, consent=True)
    report(quiet, "Order Shipped", "C-3", "m1", key=quiet.keys.secret_key)
    stack.tick(START + timedelta(minutes=5))
    assert sent_emails(stack, email) == [] and sent_emails(stack, other) == []
