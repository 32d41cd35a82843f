"""Shopify and WooCommerce webhooks on the local stack: signed deliveries start the same
journeys as the tracking API, forged ones change nothing, redeliveries count once."""

import html
import urllib.error
import urllib.request
from datetime import timedelta
from decimal import Decimal

from comeback.services.webhook_secrets import install_webhook_secret

from tests.conftest import START
from tests.support import profile_of, sent_emails
from tests.webhook_fixtures import (
    SECRET,
    body_of,
    shopify_checkout,
    shopify_customer,
    shopify_headers,
    shopify_order,
    woo_headers,
    woo_order,
)


def deliver(stack, platform, shop_id, body, headers):
    request = urllib.request.Request(
        f"{stack.api.url}/v1/webhooks/{platform}?shop={shop_id}",
        data=body,
        method="POST",
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def secret_of(shop):
    """Each shop's own secret (two shops may not share one)."""
    return f"{SECRET}-{shop.shop_id}"


def with_secrets(stack, shop):
    for platform in ("shopify", "woocommerce"):
        install_webhook_secret(
            stack.aws.client("secretsmanager"),
            stack.aws.webhook_secret_arn,
            shop.shop_id,
            platform,
            secret_of(shop),
        )
    return shop


def checkout_for(shop):
    email = f"ada-{shop.shop_id}@example.com"
    customer = shopify_customer(email=email)
    return email, shopify_checkout(email=email, customer=customer)


def test_a_signed_shopify_checkout_gets_a_cart_reminder_with_its_restore_link(stack, shop):
    with_secrets(stack, shop)
    email, checkout = checkout_for(shop)
    body = body_of(checkout)
    status, answer = deliver(
        stack,
        "shopify",
        shop.shop_id,
        body,
        shopify_headers(body, "checkouts/update", "wh-1", secret_of(shop)),
    )
    assert status == 200, answer
    stack.tick(START + timedelta(minutes=30))
    assert sent_emails(stack, email) == []
    # After the shop's one-hour delay, the reminder, linking to Shopify's recovery URL
    stack.tick(START + timedelta(hours=1, minutes=5))
    [reminder] = sent_emails(stack, email)
    text = reminder.get_body(("plain",)).get_content()
    assert "Blue Mug" in text
    # Its link (tracked) opens our restore-cart page, whose button is Shopify's recovery URL.
    link = next(word for word in text.split() if "/v1/click?t=" in word)
    with urllib.request.urlopen(link, timeout=10) as page:
        assert page.url.startswith(f"{stack.api.url}/v1/cart?t=")
        html_page = page.read().decode()
    assert html.escape(checkout["abandoned_checkout_url"]) in html_page
    profile = profile_of(stack, shop.shop_id, "7001001")
    assert profile.email == email and profile.has_consent("email")
    assert profile.messages.sent == 1


def test_one_byte_changed_is_refused_and_changes_nothing(stack, shop):
    with_secrets(stack, shop)
    _, checkout = checkout_for(shop)
    body = body_of(checkout)
    headers = shopify_headers(body, "checkouts/update", "wh-2", secret_of(shop))
    tampered = body.replace(b'"quantity":3', b'"quantity":9', 1)
    assert tampered != body and len(tampered) == len(body)
    status, answer = deliver(stack, "shopify", shop.shop_id, tampered, headers)
    assert status == 401, answer
    # Nor does a missing signature, or the right signature for another shop
    unsigned = {k: v for k, v in headers.items() if k != "X-Shopify-Hmac-Sha256"}
    assert deliver(stack, "shopify", shop.shop_id, body, unsigned)[0] == 401
    assert deliver(stack, "shopify", "shop-unknown", body, headers)[0] == 401
    stack.process_events()
    assert profile_of(stack, shop.shop_id, "7001001") is None


def test_the_same_order_delivered_twice_counts_once(stack, shop):
    with_secrets(stack, shop)
    email = f"ada-{shop.shop_id}@example.com"
    order = shopify_order(email=email, customer=shopify_customer(email=email))
    body = body_of(order)
    headers = shopify_headers(body, "orders/create", "wh-order-1", secret_of(shop))
    for _ in range(2):  # Shopify redelivers when it missed our answer
        assert deliver(stack, "shopify", shop.shop_id, body, headers)[0] == 200
    stack.process_events()
    profile = profile_of(stack, shop.shop_id, "7001001")
    assert profile.orders.count == 1
    assert profile.orders.revenue == Decimal("42.50")
    # consent and order, once each: the second delivery was dropped as the same messages
    assert profile.event_count == 2
    # A later cancellation is reported and counts no revenue
    cancelled = body_of({**order, "cancelled_at": "2024-01-08T06:00:00-05:00"})
    headers = shopify_headers(cancelled, "orders/updated", "wh-order-2", secret_of(shop))
    assert deliver(stack, "shopify", shop.shop_id, cancelled, headers)[0] == 200
    stack.process_events()
    profile = profile_of(stack, shop.shop_id, "7001001")
    assert (profile.orders.count, profile.orders.revenue) == (1, Decimal("42.50"))


def test_woocommerce_ping_and_order(stack, shop):
    with_secrets(stack, shop)
    # Saving the webhook in WooCommerce: an unsigned form post that must get 200
    status, _ = deliver(
        stack,
        "woocommerce",
        shop.shop_id,
        b"webhook_id=12",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200
    email = f"grace-{shop.shop_id}@example.org"
    pending = woo_order(status="pending", billing={**woo_order()["billing"], "email": email})
    body = body_of(pending)
    assert deliver(
        stack,
        "woocommerce",
        shop.shop_id,
        body,
        woo_headers(body, "order.created", "dl-1", secret_of(shop)),
    )[0] == (200)
    stack.process_events()
    profile = profile_of(stack, shop.shop_id, "26")
    assert profile.cart is not None and profile.orders.count == 0
    # Paid a minute later: the order counts, the cart is closed, no reminder is due
    paid = body_of(
        {
            **pending,
            "status": "processing",
            "date_modified_gmt": "2024-01-08T09:01:00",
            "date_paid_gmt": "2024-01-08T09:01:00",
        }
    )
    headers = woo_headers(paid, "order.updated", "dl-2", secret_of(shop))
    assert deliver(stack, "woocommerce", shop.shop_id, paid, headers)[0] == 200
    stack.tick(START + timedelta(hours=2))
    profile = profile_of(stack, shop.shop_id, "26")
    assert profile.orders.count == 1 and profile.orders.revenue == Decimal("29.35")
    assert profile.cart is None
    assert sent_emails(stack, email) == []
    # A bad signature is refused
    headers["X-WC-Webhook-Signature"] = "AAAA" + headers["X-WC-Webhook-Signature"][4:]
    assert deliver(stack, "woocommerce", shop.shop_id, paid, headers)[0] == 401


def test_a_shopify_product_update_reaches_the_catalogue_once(stack, shop):
    from comeback.adapters.catalogue import Catalogue

    from tests.webhook_fixtures import shopify_product

    with_secrets(stack, shop)
    body = body_of(shopify_product())
    headers = shopify_headers(body, "products/update", "wh-product-1", secret_of(shop))
    status, answer = deliver(stack, "shopify", shop.shop_id, body, headers)
    assert status == 200 and '"products": 1' in answer
    product = Catalogue(stack.aws.client("dynamodb"), stack.aws.table_name).get_product(
        shop.shop_id, "501"
    )
    assert product.url == "https://shop.example.com/products/blue-mug"
    assert (product.price, product.in_stock, product.inventory) == (Decimal("9.90"), True, 4)


def test_a_customer_update_does_not_regrant_consent_withdrawn_since(stack, shop):
    with_secrets(stack, shop)
    stack.clock.set(START + timedelta(days=3))
    email = f"grace-{shop.shop_id}@example.com"
    subscribed = {"state": "subscribed", "consent_updated_at": "2024-01-01T10:00:00Z"}
    created = shopify_customer(
        email=email,
        created_at="2024-01-01T10:00:00Z",
        updated_at="2024-01-01T10:00:00Z",
        email_marketing_consent=subscribed,
    )
    body = body_of(created)
    status, _ = deliver(
        stack,
        "shopify",
        shop.shop_id,
        body,
        shopify_headers(body, "customers/create", "c-1", secret_of(shop)),
    )
    assert status == 200
    stack.process_events()
    assert profile_of(stack, shop.shop_id, "7001001").has_consent("email")
    # The person unsubscribes with us on the 9th...
    status, _ = shop.post(
        "/v1/identify",
        {"userId": "7001001", "traits": {"email_consent": False}, "timestamp": START.isoformat()},
        key=shop.keys.secret_key,
    )
    assert status == 200
    stack.process_events()
    # ...and on the 10th Shopify reports an address change; its consent is as it was
    updated = {**created, "updated_at": "2024-01-10T09:00:00Z", "phone": "+14155550199"}
    body = body_of(updated)
    status, _ = deliver(
        stack,
        "shopify",
        shop.shop_id,
        body,
        shopify_headers(body, "customers/update", "c-2", secret_of(shop)),
    )
    assert status == 200
    stack.process_events()
    profile = profile_of(stack, shop.shop_id, "7001001")
    assert profile.phone == "+14155550199"  # the update itself is applied
    assert not profile.has_consent("email")
