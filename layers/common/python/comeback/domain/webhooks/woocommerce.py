"""WooCommerce webhook payloads (REST API v3 resource JSON) as tracking messages and products.

Order topics follow the order's status, since WooCommerce creates the order before payment:
a `processing` or `completed` order is a sale (`Order Completed`, counted once per order id
however often it is reported); a `pending`, `failed`, `on-hold` or `checkout-draft` one is
an unfinished checkout (`Checkout Started`, the cart journey); `cancelled` and `refunded`
are reported as such, anything else as `Order Updated`. Customer topics identify the
customer (WooCommerce core records no marketing consent); product topics feed the catalogue.
"""

from __future__ import annotations

from typing import Any

from comeback.domain.commerce import CHECKOUT_STARTED, ORDER_COMPLETED
from comeback.domain.webhooks import (
    WOOCOMMERCE,
    Mapped,
    amount,
    clean_email,
    clean_text,
    https_url,
    line_items,
    message_ids,
    nonzero_id,
    track_message,
)
from comeback.domain.webhooks.shopify import ORDER_CANCELLED, ORDER_REFUNDED, ORDER_UPDATED
from comeback.models.catalogue import Product

ORDER_TOPICS = ("order.created", "order.updated")
CUSTOMER_TOPICS = ("customer.created", "customer.updated")
PRODUCT_TOPICS = ("product.created", "product.updated")
TOPICS = (*ORDER_TOPICS, *CUSTOMER_TOPICS, *PRODUCT_TOPICS)
PAID_STATUSES = frozenset({"processing", "completed"})
UNPAID_STATUSES = frozenset({"pending", "failed", "on-hold", "checkout-draft"})
_STATUS_EVENTS = {"cancelled": ORDER_CANCELLED, "refunded": ORDER_REFUNDED}


def map_delivery(
    topic: str,
    payload: dict[str, Any],
    *,
    delivery_id: str,
    currency: str | None = None,
) -> Mapped:
    """What one delivery means; an empty Mapped for topics we do not act on.

    WooCommerce's delivery id is a hash of the webhook id and the second it was sent, so two
    changes in one second share it: the resource's id goes into the message id as well."""
    resource_id = nonzero_id(payload.get("id")) or "none"
    prefix = f"{WOOCOMMERCE}:{delivery_id}:{resource_id}"
    if topic in ORDER_TOPICS:
        return Mapped(messages=message_ids(prefix, _order(payload)))
    if topic in CUSTOMER_TOPICS:
        return Mapped(messages=message_ids(prefix, _customer(payload)))
    if topic in PRODUCT_TOPICS:
        product = _product(payload, currency)
        return Mapped(products=[product] if product else [])
    return Mapped()


def _order(order: dict[str, Any]) -> list[dict[str, Any]]:
    order_id = nonzero_id(order.get("id"))
    if order_id is None:
        return []
    # A guest is named by the order's random key when there is one: order numbers are
    # sequential, and anyone holding the public write key could add to a guessed one's cart.
    guest_key = clean_text(order.get("order_key"), 200) or order_id
    identity = _identity(order.get("customer_id"), f"woocommerce-order:{guest_key}")
    billing = order.get("billing") if isinstance(order.get("billing"), dict) else {}
    traits = _traits(billing, {})
    status = clean_text(order.get("status"), 50) or ""
    properties: dict[str, Any] = {
        "total": order.get("total"),
        "currency": clean_text(order.get("currency"), 3),
        "products": line_items(order.get("line_items")),
    }
    when = _gmt(order.get("date_modified_gmt")) or _gmt(order.get("date_created_gmt"))
    if status in UNPAID_STATUSES:
        properties["cart_id"] = f"woocommerce-order:{order_id}"
        restore = https_url(order.get("payment_url"))
        if restore:
            properties["restore_url"] = restore
        return [track_message(identity, CHECKOUT_STARTED, properties, traits, when)]
    properties["order_id"] = order_id
    if status in PAID_STATUSES:
        paid = _gmt(order.get("date_paid_gmt")) or _gmt(order.get("date_created_gmt")) or when
        completed = track_message(identity, ORDER_COMPLETED, properties, traits, paid)
        # One id per order, whichever delivery reports it paid: the processor drops repeats
        # for as long as it keeps events, not only within the last orders it remembers.
        completed["messageId"] = f"woocommerce:order-completed:{order_id}"
        return [completed]
    properties["status"] = status or None
    event = _STATUS_EVENTS.get(status, ORDER_UPDATED)
    return [track_message(identity, event, properties, traits, when)]


def _customer(customer: dict[str, Any]) -> list[dict[str, Any]]:
    user_id = nonzero_id(customer.get("id"))
    if user_id is None:
        return []
    billing = customer.get("billing") if isinstance(customer.get("billing"), dict) else {}
    traits = _traits(billing, customer)
    if not traits:
        return []
    message: dict[str, Any] = {"type": "identify", "userId": user_id, "traits": traits}
    when = _gmt(customer.get("date_modified_gmt")) or _gmt(customer.get("date_created_gmt"))
    if when:
        message["timestamp"] = when
    return [message]


def _identity(customer_id: Any, guest: str) -> dict[str, str]:
    user_id = nonzero_id(customer_id)
    return {"userId": user_id} if user_id else {"anonymousId": guest}


def _traits(billing: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    traits: dict[str, Any] = {}
    email = clean_email(customer.get("email")) or clean_email(billing.get("email"))
    if email:
        traits["email"] = email
    if phone := clean_text(billing.get("phone"), 50):
        traits["phone"] = phone
    for name in ("first_name", "last_name"):
        if value := clean_text(customer.get(name) or billing.get(name), 100):
            traits[name] = value
    return traits


def _gmt(value: Any) -> str | None:
    """WooCommerce's `*_gmt` times carry no zone; they are UTC."""
    text = clean_text(value, 40)
    if not text:
        return None
    zoned = text.endswith(("Z", "z")) or "+" in text[10:] or "-" in text[10:]
    return text if zoned else f"{text}Z"


def _product(product: dict[str, Any], currency: str | None) -> Product | None:
    product_id = nonzero_id(product.get("id"))
    updated_at = _gmt(product.get("date_modified_gmt")) or _gmt(product.get("date_created_gmt"))
    if product_id is None or updated_at is None:
        return None
    images = [i for i in product.get("images") or [] if isinstance(i, dict)]
    stock = product.get("stock_quantity")
    status = product.get("stock_status")
    return Product(
        product_id=product_id,
        title=clean_text(product.get("name")),
        url=https_url(product.get("permalink")),
        image_url=https_url(images[0].get("src")) if images else None,
        price=amount(product.get("price")),
        currency=currency,
        in_stock=_in_stock(status, product.get("status", "publish")),
        inventory=stock if isinstance(stock, int) and not isinstance(stock, bool) else None,
        updated_at=updated_at,
        source=WOOCOMMERCE,
    )


def _in_stock(stock_status: Any, status: Any) -> bool | None:
    if not isinstance(stock_status, str):
        return None
    return stock_status in ("instock", "onbackorder") and status == "publish"
