"""Back-in-stock and price-drop alerts on the local stack: the shop reports a product change
(product API or platform webhook), and the people who watch the product get one alert each per
change, however often the change is reported or the queues redeliver."""

import json
from datetime import timedelta

from tests.conftest import START, make_shop
from tests.e2e.test_webhooks import deliver, secret_of, with_secrets
from tests.support import sent_emails
from tests.webhook_fixtures import body_of, shopify_headers, shopify_product

PRODUCT = "501"  # the Shopify fixture's product id: both paths update the same product


def _customer(shop, user, email, *, viewed_at=None):
    """A customer with email consent (from the shop's backend) who viewed the product."""
    secret = shop.keys.secret_key
    status, body = shop.post(
        "/v1/identify",
        {"userId": user, "traits": {"email": email, "email_consent": True}},
        key=secret,
    )
    assert status == 200, body
    view = {"userId": user, "event": "Product Viewed", "properties": {"product_id": PRODUCT}}
    if viewed_at is not None:
        view["timestamp"] = viewed_at.isoformat()
    status, body = shop.post("/v1/track", view, key=secret)
    assert status == 200, body


def _post_product(shop, key=None, **fields):
    product = {
        "product_id": PRODUCT,
        "title": "Blue Mug",
        "url": "https://shop.example.com/products/blue-mug",
        "currency": "USD",
        "in_stock": True,
        "inventory": 5,
        **fields,
    }
    status, body = shop.post(
        "/v1/products", {"products": [product]}, key=key or shop.keys.secret_key
    )
    return status, json.loads(body)


def _alerts(stack, email):
    return [m for m in sent_emails(stack, email) if m["X-Comeback-Kind"] == "price_drop"]


def test_a_price_drop_alerts_each_watcher_once_per_change_whatever_path(stack):
    # A loose frequency cap: it must not be what keeps a repeated alert from going out
    shop = with_secrets(stack, make_shop(stack, cap_messages=20))
    ann, bob, old = (f"{name}-{shop.shop_id}@example.com" for name in ("ann", "bob", "old"))
    # Given the product at 20.00, two customers who viewed it and one who did 40 days ago
    assert _post_product(shop, price="20.00")[0] == 200
    _customer(shop, "u-ann", ann)
    _customer(shop, "u-bob", bob)
    _customer(shop, "u-old", old, viewed_at=START - timedelta(days=40))
    stack.tick(START + timedelta(minutes=1))

    # When the shop lowers the price through the product API
    stack.clock.set(START + timedelta(minutes=5))
    status, answer = _post_product(shop, price="15.00")
    assert status == 200 and answer["changed"] == 1 and answer["alerts_queued"] == 2
    stack.tick(START + timedelta(minutes=6))

    # Then each watcher gets one alert, naming the product and its new price
    for email in (ann, bob):
        [alert] = _alerts(stack, email)
        assert alert["Subject"] == "Price drop: Blue Mug now 15.00 USD"
        assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = alert.get_body(("plain",)).get_content()
        assert "/v1/click?t=" in text  # the product link goes through click tracking
    # and the one whose view is past the watch window gets nothing
    assert sent_emails(stack, old) == []

    # When the same price is saved again: no change, no alert
    stack.clock.set(START + timedelta(minutes=10))
    status, answer = _post_product(shop, price="15.00")
    assert status == 200 and answer["changed"] == 0 and answer["alerts_queued"] == 0
    stack.tick(START + timedelta(minutes=11))
    assert [len(_alerts(stack, e)) for e in (ann, bob)] == [1, 1]

    # When the platform's webhook lowers it again, the next day
    next_day = START + timedelta(days=1, hours=1)
    stack.clock.set(next_day)
    cheaper = shopify_product(
        updated_at=(next_day - timedelta(minutes=1)).isoformat(),
        variants=[
            {
                "id": 9501,
                "price": "11.00",
                "inventory_management": "shopify",
                "inventory_quantity": 3,
            }
        ],
    )
    body = body_of(cheaper)
    headers = shopify_headers(body, "products/update", "wh-drop-1", secret_of(shop))
    assert deliver(stack, "shopify", shop.shop_id, body, headers)[0] == 200
    # ... and the platform redelivers it, the sender runs twice, sweeps overlap
    assert deliver(stack, "shopify", shop.shop_id, body, headers)[0] == 200
    stack.send_messages()
    stack.send_messages()
    stack.tick(next_day + timedelta(minutes=1))
    stack.tick(next_day + timedelta(minutes=1))

    # Then each watcher has exactly one alert for that change too
    for email in (ann, bob):
        assert sorted(alert["Subject"] for alert in _alerts(stack, email)) == [
            "Price drop: Blue Mug now 11.00 USD",
            "Price drop: Blue Mug now 15.00 USD",
        ]
    assert sent_emails(stack, old) == []


def test_the_product_api_takes_the_secret_key_only_and_checks_products(stack, shop):
    # The public write key is refused, and nothing is saved
    status, answer = _post_product(shop, key=shop.keys.write_key, price="20.00")
    assert status == 401
    # A product that is not one is refused, naming it
    status, answer = _post_product(shop, price="-1")
    assert status == 400 and "products" in answer["message"]
    status, answer = _post_product(shop, url="javascript:alert(1)")
    assert status == 400


def test_back_in_stock_at_night_waits_for_the_morning(stack):
    shop = make_shop(stack)
    ann = f"ann-{shop.shop_id}@example.com"
    # Given a sold-out product someone asked to hear about
    assert _post_product(shop, price="20.00", in_stock=False, inventory=0)[0] == 200
    secret = shop.keys.secret_key
    shop.post(
        "/v1/identify",
        {"userId": "u-ann", "traits": {"email": ann, "email_consent": True}},
        key=secret,
    )
    shop.post(
        "/v1/track",
        {
            "userId": "u-ann",
            "event": "Back In Stock Requested",
            "properties": {"product_id": PRODUCT},
        },
        key=secret,
    )
    stack.tick(START + timedelta(minutes=1))
    # When it is back in stock at 23:00 UTC (quiet hours: 21:00 to 08:00)
    night = START.replace(hour=23)
    stack.clock.set(night)
    status, answer = _post_product(shop, price="20.00", in_stock=True, inventory=2)
    assert status == 200 and answer["alerts_queued"] == 1
    stack.tick(night + timedelta(minutes=1))
    # Then nothing goes out at night
    assert sent_emails(stack, ann) == []
    # and one alert goes out in the morning, once however many sweeps run
    morning = START + timedelta(days=1)  # 09:00
    stack.tick(morning)
    stack.tick(morning + timedelta(minutes=15))
    [alert] = sent_emails(stack, ann)
    assert alert["Subject"] == "Back in stock: Blue Mug"
