"""Platform webhooks: signatures, and each topic's payload as tracking messages or products."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from comeback.domain.email_content import render
from comeback.domain.identity import identifiers_of
from comeback.domain.intake import validate_messages
from comeback.domain.profiles import apply_event, new_profile
from comeback.domain.short_content import short_content
from comeback.domain.timers import CART_RECOVERY
from comeback.domain.webhooks import shopify, woocommerce
from comeback.domain.webhooks.signatures import parse_book, sign, verify, with_secret
from comeback.errors import PayloadTooLarge, Unauthorized
from comeback.models.events import SegmentMessage
from comeback.models.shop import Shop, ShopSettings
from comeback.services import webhooks

from tests.webhook_fixtures import (
    SECRET,
    body_of,
    shopify_checkout,
    shopify_customer,
    shopify_headers,
    shopify_order,
    shopify_product,
    woo_customer,
    woo_headers,
    woo_order,
    woo_product,
)

NOW = datetime(2024, 1, 8, 12, 0, tzinfo=UTC)
SHOP = Shop(
    shop_id="shop-a",
    name="Shop A",
    created_at=NOW,
    settings=ShopSettings(site_url="https://shop.example.com", currency="USD"),
)


def accepted(messages):
    """The mapped messages as the intake accepts them (trusted server calls)."""
    parsed = validate_messages(
        "batch", {"batch": messages}, received_at=NOW, shop_id="shop-a", source="server"
    )
    assert not parsed.rejected, parsed.rejected
    return parsed.accepted


# -- signatures ------------------------------------------------------------------------------


def test_a_valid_signature_verifies_and_any_change_does_not():
    body = body_of(shopify_checkout())
    signature = sign(body, SECRET)
    assert verify(body, SECRET, signature)
    # One byte changed in the body
    changed = body.replace(b"37.50", b"37.51", 1)
    assert changed != body and not verify(changed, SECRET, signature)
    # Missing or empty header, no secret, a wrong secret, another shop's secret
    assert not verify(body, SECRET, None)
    assert not verify(body, SECRET, "")
    assert not verify(body, None, signature)
    assert not verify(body, "whsec-wrong-0123456789abcdef", signature)
    book = with_secret(with_secret({}, "shop-a", "shopify", SECRET), "shop-b", "shopify", "b" * 20)
    assert not verify(body, book["shop-b"]["shopify"], signature)
    # A signature in hex rather than base64 is not the platform's format
    assert not verify(body, SECRET, signature.encode().hex())


def test_the_secret_book_ignores_its_placeholder_and_unknown_platforms():
    assert parse_book("Zx81placeholder") == {}
    book = parse_book('{"shop-a": {"shopify": "s1", "magento": "m"}, "x": 3}')
    assert book == {"shop-a": {"shopify": "s1"}}
    with pytest.raises(ValueError):
        with_secret(book, "shop-a", "magento", "m" * 20)


def test_two_shops_never_share_a_secret():
    # Else a delivery signed for one shop could be posted to the other's URL and count there
    book = with_secret({}, "shop-a", "shopify", SECRET)
    with pytest.raises(ValueError, match="shop-a"):
        with_secret(book, "shop-b", "shopify", SECRET)
    with pytest.raises(ValueError, match="shop-a"):
        with_secret(book, "shop-b", "woocommerce", SECRET)
    # The same shop may keep it for its other platform, or set it again
    assert with_secret(book, "shop-a", "woocommerce", SECRET)["shop-a"]["woocommerce"] == SECRET
    assert with_secret(book, "shop-a", "shopify", SECRET) == book


# -- Shopify ---------------------------------------------------------------------------------


def consents(messages) -> dict[str, tuple[bool, str]]:
    """Consent decisions in mapped messages: channel -> (granted, when decided)."""
    found = {}
    for message in messages:
        for key, value in (message.get("traits") or {}).items():
            if key.endswith("_consent"):
                found[key.removesuffix("_consent")] = (value, message["timestamp"])
        assert not any(k.endswith("_consent") for k in message.get("context", {}).get("traits", {}))
    return found


def test_a_shopify_checkout_is_a_checkout_started_with_its_restore_link_and_consent():
    mapped = shopify.map_delivery("checkouts/update", shopify_checkout(), delivery_id="w1")
    *_, event = accepted(mapped.messages)
    message = event.message
    assert event.message_id == f"shopify:w1:{len(mapped.messages) - 1}"
    assert (message["userId"], message["event"]) == ("7001001", "Checkout Started")
    assert message["properties"]["cart_id"] == "c1a2b3c4d5e6f708"
    assert message["properties"]["restore_url"].startswith("https://shop.example.com/40/")
    assert message["properties"]["products"] == [
        {
            "product_id": "501",
            "sku": "MUG-BLUE",
            "name": "Blue Mug",
            "price": "12.50",
            "quantity": 3,
        }
    ]
    traits = message["context"]["traits"]
    assert traits["email"] == "ada.tester@example.com" and traits["phone"] == "+14155550123"
    # Consent as of when the customer decided, not when the checkout last changed
    assert consents(mapped.messages) == {"email": (True, "2024-01-08T08:30:00-05:00")}
    assert event.timestamp == datetime(2024, 1, 8, 9, 0, tzinfo=UTC)  # its updated_at


def test_a_guest_checkout_is_keyed_by_its_token_and_a_completed_one_starts_no_cart():
    guest = shopify_checkout(customer=None, buyer_accepts_marketing=True)
    messages = shopify.map_delivery("checkouts/create", guest, delivery_id="w2").messages
    message = messages[-1]
    assert message["anonymousId"] == "shopify-checkout:c1a2b3c4d5e6f708"
    assert "userId" not in message
    assert message["context"]["traits"] == {"email": "ada.tester@example.com"}
    # The box ticked at checkout grants as of the checkout's creation
    assert consents(messages) == {"email": (True, guest["created_at"])}
    done = shopify_checkout(completed_at="2024-01-08T04:10:00-05:00")
    messages = shopify.map_delivery("checkouts/update", done, delivery_id="w3").messages
    assert {m["type"] for m in messages} == {"identify"}


def test_a_shopify_order_counts_once_and_its_updates_never_count():
    *_, created = accepted(
        shopify.map_delivery("orders/create", shopify_order(), delivery_id="w4").messages
    )
    assert created.message["event"] == "Order Completed"
    assert created.message["properties"]["order_id"] == "820982911946154500"
    assert created.message["properties"]["total"] == "42.50"
    cancelled = shopify_order(cancelled_at="2024-01-09T10:00:00-05:00")
    refunded = shopify_order(financial_status="refunded")
    events = [
        shopify.map_delivery("orders/updated", order, delivery_id=f"u{n}").messages[-1]["event"]
        for n, order in enumerate((shopify_order(), cancelled, refunded))
    ]
    assert events == ["Order Updated", "Order Cancelled", "Order Refunded"]


def test_a_shopify_customer_is_an_identify_with_consent_both_ways():
    customer = shopify_customer(
        email_marketing_consent={"state": "unsubscribed", "opt_in_level": None},
        sms_marketing_consent={"state": "subscribed", "opt_in_level": "single_opt_in"},
    )
    messages = shopify.map_delivery("customers/update", customer, delivery_id="w5").messages
    assert len(accepted(messages)) == len(messages)
    assert {m["type"] for m in messages} == {"identify"}
    # Each decision dated when it was made (else the customer's creation), never updated_at
    assert consents(messages) == {
        "email": (False, customer["created_at"]),
        "sms": (True, customer["created_at"]),
    }
    legacy = shopify_customer(email_marketing_consent=None, accepts_marketing=True)
    legacy["accepts_marketing_updated_at"] = "2023-05-01T10:00:00-04:00"
    messages = shopify.map_delivery("customers/create", legacy, delivery_id="w6").messages
    assert consents(messages)["email"] == (True, "2023-05-01T10:00:00-04:00")
    # A malformed address is left out; the rest is kept
    bad = shopify_customer(email="not-an-address")
    messages = shopify.map_delivery("customers/create", bad, delivery_id="w7").messages
    assert "email" not in messages[-1]["traits"]


def test_a_shopify_product_update_is_a_catalogue_product():
    mapped = shopify.map_delivery(
        "products/update",
        shopify_product(),
        delivery_id="w8",
        site_url="https://shop.example.com/",
        currency="USD",
    )
    assert mapped.messages == []
    [product] = mapped.products
    assert product.product_id == "501" and product.title == "Blue Mug"
    assert product.url == "https://shop.example.com/products/blue-mug"
    assert product.price == Decimal("9.90") and product.currency == "USD"
    assert product.in_stock is True and product.inventory == 4
    sold_out = shopify_product(
        variants=[{"price": "12.50", "inventory_management": "shopify", "inventory_quantity": 0}]
    )
    [product] = shopify.map_delivery("products/update", sold_out, delivery_id="w9").products
    assert product.in_stock is False and product.inventory == 0


def test_unknown_topics_map_to_nothing():
    assert shopify.map_delivery("carts/update", {"id": 1}, delivery_id="w").messages == []
    assert woocommerce.map_delivery("coupon.created", {"id": 1}, delivery_id="d").products == []


# -- WooCommerce -----------------------------------------------------------------------------


def test_a_paid_woocommerce_order_is_an_order_and_an_unpaid_one_a_checkout():
    [paid] = accepted(
        woocommerce.map_delivery("order.created", woo_order(), delivery_id="d1").messages
    )
    # One id per paid order, whichever delivery (created, or any later update) reports it
    assert paid.message_id == "woocommerce:order-completed:727"
    [again] = woocommerce.map_delivery(
        "order.updated", woo_order(status="completed"), delivery_id="d9"
    ).messages
    assert again["messageId"] == paid.message_id
    assert (paid.message["userId"], paid.message["event"]) == ("26", "Order Completed")
    assert paid.message["properties"]["order_id"] == "727"
    assert paid.message["properties"]["total"] == "29.35"
    assert paid.message["context"]["traits"]["phone"] == "+4930901820"
    assert paid.timestamp == datetime(2024, 1, 8, 9, 0, 30, tzinfo=UTC)  # date_paid_gmt

    pending = woo_order(status="pending", customer_id=0, order_key=None)
    [checkout] = accepted(
        woocommerce.map_delivery("order.created", pending, delivery_id="d2").messages
    )
    assert checkout.message["event"] == "Checkout Started"
    assert checkout.message["anonymousId"] == "woocommerce-order:727"  # no order key sent
    # With its random order key a guest is not named by the guessable order number
    keyed = woo_order(status="pending", customer_id=0, order_key="wc_order_Zq81mXr4Kb2")
    [message] = woocommerce.map_delivery("order.created", keyed, delivery_id="d4").messages
    assert message["anonymousId"] == "woocommerce-order:wc_order_Zq81mXr4Kb2"
    assert checkout.message["properties"]["restore_url"].startswith("https://woo.example.org/")
    assert [p["product_id"] for p in checkout.message["properties"]["products"]] == ["93", "22"]


def test_woocommerce_order_updates_follow_the_status():
    events = {
        status: woocommerce.map_delivery(
            "order.updated", woo_order(status=status), delivery_id="d3"
        ).messages[0]["event"]
        for status in ("completed", "cancelled", "refunded", "failed", "trash")
    }
    assert events == {
        "completed": "Order Completed",  # counted once per order id, see domain.profiles
        "cancelled": "Order Cancelled",
        "refunded": "Order Refunded",
        "failed": "Checkout Started",
        "trash": "Order Updated",
    }


def test_a_woocommerce_customer_and_product():
    [event] = accepted(
        woocommerce.map_delivery("customer.updated", woo_customer(), delivery_id="d4").messages
    )
    assert event.message["type"] == "identify" and event.message["userId"] == "26"
    assert event.message["traits"]["email"] == "grace.sample@example.org"
    [product] = woocommerce.map_delivery(
        "product.updated", woo_product(), delivery_id="d5", currency="EUR"
    ).products
    assert (product.product_id, product.price, product.currency) == ("93", Decimal(3), "EUR")
    assert product.in_stock is True and product.inventory == 12
    assert product.url == "https://woo.example.org/product/woo-single-1/"


# -- the restore link ------------------------------------------------------------------------


def _cart_profile(source, restore_url):
    message = SegmentMessage.model_validate(
        {
            "type": "track",
            "userId": "u1",
            "event": "Checkout Started",
            "properties": {
                "cart_id": "c1",
                "products": [{"product_id": "p1", "price": 5}],
                "restore_url": restore_url,
            },
        }
    )
    profile = new_profile("shop-a", "p1", NOW)
    return apply_event(
        profile,
        message,
        NOW,
        identifiers_of(message),
        SHOP.settings,
        NOW,
        trusted=source == "server",
    )


def test_the_restore_link_is_taken_only_from_the_server_and_only_https():
    link = "https://shop.example.com/40/checkouts/abc/recover?key=k"
    assert _cart_profile("server", link).cart.restore_url == link
    assert _cart_profile("client", link).cart.restore_url is None
    assert _cart_profile("server", "http://shop.example.com/x").cart.restore_url is None
    assert _cart_profile("server", "javascript:alert(1)").cart.restore_url is None


def test_the_cart_reminder_links_to_the_restore_link_when_there_is_one():
    link = "https://shop.example.com/40/checkouts/abc/recover?key=k"
    with_link = _cart_profile("server", link)
    without = _cart_profile("client", link)
    email = render(CART_RECOVERY, with_link, SHOP, "https://api.example.com/u")
    assert f"Back to your cart: {link}" in email.text
    assert (
        "Back to your cart: https://shop.example.com/cart"
        in render(CART_RECOVERY, without, SHOP, "https://api.example.com/u").text
    )
    assert short_content(CART_RECOVERY, with_link, SHOP).url == link
    assert short_content(CART_RECOVERY, without, SHOP).url == "https://shop.example.com/cart"


# -- the service -----------------------------------------------------------------------------


class FakePublisher:
    def __init__(self):
        self.bodies = []

    def publish(self, bodies):
        self.bodies.extend(bodies)


class FakeCatalogue:
    def __init__(self):
        self.saved = []

    def save_product(self, shop_id, product):
        self.saved.append((shop_id, product))
        return True


def receive(platform, headers, body, *, shop_id="shop-a", secrets=None):
    publisher, catalogue = FakePublisher(), FakeCatalogue()
    book = (
        secrets if secrets is not None else {"shop-a": {"shopify": SECRET, "woocommerce": SECRET}}
    )
    outcome = webhooks.receive(
        platform=platform,
        shop_id=shop_id,
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
        shop_for=lambda sid: SHOP if sid == "shop-a" else None,
        secret_for=lambda sid, name: book.get(sid, {}).get(name),
        publisher=publisher,
        catalogue=catalogue,
        received_at=NOW,
    )
    return outcome, publisher, catalogue


def test_the_service_refuses_alike_whatever_is_wrong_and_stores_nothing():
    body = body_of(shopify_checkout())
    good = shopify_headers(body, "checkouts/update", "w1")
    outcome, publisher, _ = receive("shopify", good, body)
    assert outcome.status == 200 and len(publisher.bodies) == 2  # consent, checkout
    cases = {
        "one byte changed": (good, body.replace(b"12.50", b"12.51", 1), "shop-a", None),
        "no signature": ({**good, "X-Shopify-Hmac-Sha256": ""}, body, "shop-a", None),
        "unknown shop": (good, body, "shop-zz", None),
        "no secret for the shop": (good, body, "shop-a", {}),
        "the other platform's header": (
            woo_headers(body, "order.created", "d"),
            body,
            "shop-a",
            None,
        ),
    }
    messages = set()
    for name, (headers, data, shop_id, book) in cases.items():
        with pytest.raises(Unauthorized) as refused:
            receive("shopify", headers, data, shop_id=shop_id, secrets=book)
        messages.add(str(refused.value))
        assert name
    assert messages == {webhooks.REFUSED}


def test_the_woocommerce_ping_is_accepted_unsigned_and_stores_nothing():
    outcome, publisher, catalogue = receive(
        "woocommerce", {"Content-Type": "application/x-www-form-urlencoded"}, b"webhook_id=12"
    )
    assert outcome.status == 200 and outcome.body["ping"] is True
    assert publisher.bodies == [] and catalogue.saved == []
    # Anything else unsigned is refused
    with pytest.raises(Unauthorized):
        receive("woocommerce", {}, body_of(woo_order()))


def test_a_product_goes_to_the_catalogue_and_a_huge_body_is_refused():
    body = body_of(woo_product())
    outcome, publisher, catalogue = receive(
        "woocommerce", woo_headers(body, "product.updated", "d9"), body
    )
    assert outcome.status == 200 and publisher.bodies == []
    assert [p.product_id for _, p in catalogue.saved] == ["93"]
    with pytest.raises(PayloadTooLarge):
        receive("woocommerce", {}, b" " * (webhooks.MAX_WEBHOOK_BYTES + 1))
