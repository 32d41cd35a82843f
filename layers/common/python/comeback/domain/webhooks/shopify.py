"""Shopify webhook payloads (REST resource JSON) as tracking messages and catalogue products.

Topics: `checkouts/create`, `checkouts/update` (the cart journey), `orders/create` (the
order), `orders/updated` (status changes, never revenue), `customers/create`,
`customers/update` (contact details and marketing consent), `products/update` (catalogue).
A checkout Shopify already marked completed (`completed_at`) starts no cart: the order
arrives as `orders/create`, so only its contact details are kept.
"""

from __future__ import annotations

from typing import Any

from comeback.domain.commerce import CHECKOUT_STARTED, ORDER_COMPLETED
from comeback.domain.webhooks import (
    SHOPIFY,
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
from comeback.models.catalogue import Product

ORDER_UPDATED = "Order Updated"
ORDER_CANCELLED = "Order Cancelled"
ORDER_REFUNDED = "Order Refunded"
CHECKOUT_TOPICS = ("checkouts/create", "checkouts/update")
ORDER_CREATED_TOPIC = "orders/create"
ORDER_UPDATED_TOPIC = "orders/updated"
CUSTOMER_TOPICS = ("customers/create", "customers/update")
PRODUCT_TOPIC = "products/update"
TOPICS = (
    *CHECKOUT_TOPICS,
    ORDER_CREATED_TOPIC,
    ORDER_UPDATED_TOPIC,
    *CUSTOMER_TOPICS,
    PRODUCT_TOPIC,
)
# Marketing consent states (REST `email_marketing_consent.state`, `sms_marketing_consent`):
# only these two state a decision; `not_subscribed`, `pending`, `invalid` and `redacted` do not.
_CONSENT_STATES = {"subscribed": True, "unsubscribed": False}


def map_delivery(
    topic: str,
    payload: dict[str, Any],
    *,
    delivery_id: str,
    site_url: str | None = None,
    currency: str | None = None,
) -> Mapped:
    """What one delivery means; an empty Mapped for topics we do not act on."""
    prefix = f"{SHOPIFY}:{delivery_id}"
    if topic in CHECKOUT_TOPICS:
        return Mapped(messages=message_ids(prefix, _checkout(payload)))
    if topic in (ORDER_CREATED_TOPIC, ORDER_UPDATED_TOPIC):
        return Mapped(messages=message_ids(prefix, _order(payload, topic)))
    if topic in CUSTOMER_TOPICS:
        return Mapped(messages=message_ids(prefix, _customer(payload)))
    if topic == PRODUCT_TOPIC:
        product = _product(payload, site_url, currency)
        return Mapped(products=[product] if product else [])
    return Mapped()


def _checkout(checkout: dict[str, Any]) -> list[dict[str, Any]]:
    customer = checkout.get("customer") if isinstance(checkout.get("customer"), dict) else {}
    identity = _identity(customer, anonymous=_prefixed("shopify-checkout", checkout.get("token")))
    if identity is None:
        return []
    traits = _traits(customer, checkout)
    consents = _consents(identity, customer)
    if (
        checkout.get("buyer_accepts_marketing") is True
        and traits.get("email")
        and not any("email_consent" in m["traits"] for m in consents)
    ):
        # Ticking the box at checkout grants, as of when the checkout was created (so a later
        # unsubscribe still stands on every update); leaving it unticked withdraws nothing.
        consents += _consent_message(identity, "email", True, checkout.get("created_at"))
    when = checkout.get("updated_at") or checkout.get("created_at")
    if checkout.get("completed_at"):
        return [*consents, _identify(identity, traits, when)] if traits else consents
    properties: dict[str, Any] = {
        "cart_id": clean_text(checkout.get("token"), 256),
        "checkout_id": clean_text(checkout.get("id"), 256),
        "products": line_items(checkout.get("line_items")),
        "total": checkout.get("total_price"),
        "currency": clean_text(checkout.get("currency"), 3),
    }
    restore = https_url(checkout.get("abandoned_checkout_url"))
    if restore:
        properties["restore_url"] = restore
    return [*consents, track_message(identity, CHECKOUT_STARTED, properties, traits, when)]


def _order(order: dict[str, Any], topic: str) -> list[dict[str, Any]]:
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    anonymous = _prefixed("shopify-checkout", order.get("checkout_token")) or _prefixed(
        "shopify-order", order.get("id")
    )
    identity = _identity(customer, anonymous=anonymous)
    order_id = clean_text(order.get("id"), 256)
    if identity is None or order_id is None:
        return []
    traits = _traits(customer, order)
    consents = _consents(identity, customer)
    properties: dict[str, Any] = {
        "order_id": order_id,
        "total": order.get("total_price"),
        "currency": clean_text(order.get("currency"), 3),
        "products": line_items(order.get("line_items")),
    }
    if topic == ORDER_CREATED_TOPIC:
        created = order.get("created_at")
        return [*consents, track_message(identity, ORDER_COMPLETED, properties, traits, created)]
    # Later changes are reported as what they are and never count the order again.
    if order.get("cancelled_at"):
        event = ORDER_CANCELLED
    elif order.get("financial_status") == "refunded":
        event = ORDER_REFUNDED
    else:
        event = ORDER_UPDATED
    status = {
        "financial_status": clean_text(order.get("financial_status"), 50),
        "fulfillment_status": clean_text(order.get("fulfillment_status"), 50),
    }
    properties.update({k: v for k, v in status.items() if v})
    return [*consents, track_message(identity, event, properties, traits, order.get("updated_at"))]


def _customer(customer: dict[str, Any]) -> list[dict[str, Any]]:
    identity = _identity(customer, anonymous=None)
    if identity is None:
        return []
    traits = _traits(customer, customer)
    consents = _consents(identity, customer)
    if not traits:
        return consents
    when = customer.get("updated_at") or customer.get("created_at")
    return [*consents, _identify(identity, traits, when)]


def _identity(customer: dict[str, Any], *, anonymous: str | None) -> dict[str, str] | None:
    user_id = nonzero_id(customer.get("id"))
    if user_id:
        return {"userId": user_id}
    if anonymous:
        return {"anonymousId": anonymous}
    return None


def _prefixed(prefix: str, value: Any) -> str | None:
    text = clean_text(value, 200)
    return f"{prefix}:{text}" if text else None


def _traits(customer: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    traits: dict[str, Any] = {}
    email = clean_email(resource.get("email")) or clean_email(customer.get("email"))
    if email:
        traits["email"] = email
    phone = clean_text(resource.get("phone"), 50) or clean_text(customer.get("phone"), 50)
    if phone:
        traits["phone"] = phone
    for name in ("first_name", "last_name"):
        if value := clean_text(customer.get(name), 100):
            traits[name] = value
    return traits


def _consents(identity: dict[str, str], customer: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's marketing consent per channel, each as an identify dated when Shopify
    says the decision was made (`consent_updated_at`), not when the record last changed:
    an address change must not re-grant what the person withdrew since, here or there."""
    messages: list[dict[str, Any]] = []
    for channel, field in (("email", "email_marketing_consent"), ("sms", "sms_marketing_consent")):
        value = customer.get(field)
        decision = _consent(value)
        decided_at = value.get("consent_updated_at") if isinstance(value, dict) else None
        if decision is None and channel == "email":
            # Before the consent objects, Shopify had one boolean for email marketing.
            legacy = customer.get("accepts_marketing")
            decision = legacy if isinstance(legacy, bool) else None
            decided_at = customer.get("accepts_marketing_updated_at")
        if decision is not None:
            # Without a decision time, the customer's creation is the safe one: it never
            # outranks a decision made here since.
            messages += _consent_message(
                identity, channel, decision, decided_at or customer.get("created_at")
            )
    return messages


def _consent_message(
    identity: dict[str, str], channel: str, decision: bool, decided_at: Any
) -> list[dict[str, Any]]:
    if not isinstance(decided_at, str) or not decided_at:
        return []  # a decision we cannot place in time is not applied
    return [_identify(identity, {f"{channel}_consent": decision}, decided_at)]


def _consent(value: Any) -> bool | None:
    if not isinstance(value, dict):
        return None
    state = value.get("state")
    return _CONSENT_STATES.get(state.lower()) if isinstance(state, str) else None


def _identify(identity: dict[str, str], traits: dict[str, Any], when: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "identify", **identity, "traits": traits}
    if isinstance(when, str) and when:
        message["timestamp"] = when
    return message


def _product(product: dict[str, Any], site_url: str | None, currency: str | None) -> Product | None:
    product_id = nonzero_id(product.get("id"))
    updated_at = product.get("updated_at") or product.get("created_at")
    if product_id is None or not isinstance(updated_at, str):
        return None
    variants = [v for v in product.get("variants") or [] if isinstance(v, dict)]
    prices = [p for p in (amount(v.get("price")) for v in variants) if p is not None]
    tracked = [v for v in variants if v.get("inventory_management")]
    inventory = sum(max(_int(v.get("inventory_quantity")), 0) for v in tracked) if tracked else None
    in_stock = bool(variants) and any(
        not v.get("inventory_management")
        or v.get("inventory_policy") == "continue"
        or _int(v.get("inventory_quantity")) > 0
        for v in variants
    )
    image = product.get("image") if isinstance(product.get("image"), dict) else {}
    images = [i for i in product.get("images") or [] if isinstance(i, dict)]
    handle = clean_text(product.get("handle"), 255)
    url = f"{site_url.rstrip('/')}/products/{handle}" if site_url and handle else None
    return Product(
        product_id=product_id,
        title=clean_text(product.get("title")),
        url=url,
        image_url=https_url(image.get("src") or (images[0].get("src") if images else None)),
        price=min(prices) if prices else None,
        currency=currency,
        in_stock=in_stock and product.get("status", "active") == "active",
        inventory=inventory,
        updated_at=updated_at,
        source=SHOPIFY,
    )


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
