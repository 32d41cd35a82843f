"""Shop platforms' webhooks (Shopify, WooCommerce) turned into the tracking API's messages.

Pure: a platform's payload in, Segment message dicts (the shapes `domain.intake` validates) and
catalogue products out. Which shop and which secret is for the service to decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from comeback.models.catalogue import Product

SHOPIFY = "shopify"
WOOCOMMERCE = "woocommerce"
PLATFORMS = (SHOPIFY, WOOCOMMERCE)


@dataclass
class Mapped:
    """What one delivery means: tracking messages for the events queue, catalogue products
    for the table. Both empty for a topic we do not act on."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)


MAX_LINK = 2048


def message_ids(prefix: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Number the messages of one delivery (`<prefix>:<n>`): a redelivery gets the same ids,
    and the processor's per-messageId record drops it."""
    return [
        {**message, "messageId": message.get("messageId") or f"{prefix}:{n}"}
        for n, message in enumerate(messages)
    ]


def clean_email(value: Any) -> str | None:
    """A usable address or None: a malformed one is left out rather than refusing the order
    or the cart it came with."""
    from comeback.domain.contact import normalise_email
    from comeback.errors import InvalidInput

    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return normalise_email(value)
    except InvalidInput:
        return None


def clean_text(value: Any, limit: int = 500) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def https_url(value: Any) -> str | None:
    """An https link, or None: a longer one than we keep is dropped, never cut (a cut link
    is a broken one)."""
    if isinstance(value, str) and len(value.strip()) > MAX_LINK:
        return None
    text = clean_text(value, MAX_LINK)
    return text if text and text.startswith("https://") else None


def nonzero_id(value: Any) -> str | None:
    """A platform's numeric id as text; 0 and blanks mean "none" (WooCommerce guests)."""
    if isinstance(value, bool) or value in (None, "", 0, "0"):
        return None
    return clean_text(value, 256)


def merged_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cart lines keyed by product: two variants of one product become one line with the
    quantities added (a cart line is a product, see domain.profiles)."""
    merged: dict[str, dict[str, Any]] = {}
    for line in lines:
        key = line.get("product_id") or line.get("sku")
        if not key:
            continue
        if key in merged:
            merged[key]["quantity"] += line["quantity"]
        else:
            merged[key] = dict(line)
    return list(merged.values())


def line_items(items: Any) -> list[dict[str, Any]]:
    """A platform's order or checkout lines as the tracking API's `products`."""
    lines = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        quantity = item.get("quantity")
        line = {
            "product_id": nonzero_id(item.get("product_id")),
            "sku": clean_text(item.get("sku"), 256),
            "name": clean_text(item.get("title") or item.get("name")),
            "price": item.get("price"),
            "quantity": quantity if isinstance(quantity, int) and quantity >= 0 else 1,
        }
        lines.append({k: v for k, v in line.items() if v is not None})
    return merged_lines(lines)


def track_message(
    identity: dict[str, str],
    event: str,
    properties: dict[str, Any],
    traits: dict[str, Any],
    when: Any,
) -> dict[str, Any]:
    """A `track` call: the person, the event, its properties (no empty ones), the contact
    details as `context.traits`, and the platform's own time when it gave one."""
    message: dict[str, Any] = {
        "type": "track",
        **identity,
        "event": event,
        "properties": {k: v for k, v in properties.items() if v is not None},
    }
    if traits:
        message["context"] = {"traits": traits}
    if isinstance(when, str) and when:
        message["timestamp"] = when
    return message


def amount(value: Any) -> Decimal | None:
    """A price or stock value as platforms send it (number or text), or None if unusable."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        found = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return found if found.is_finite() and found >= 0 else None
