"""Receiving a shop platform's webhook: authenticate by its signature, map, make durable.

The events take the tracking API's path (validated as trusted `server` calls, then the
events queue), so journeys do not care where an event came from; catalogue products are
written at once. Nothing is stored unless the signature verifies.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from comeback.adapters.catalogue import Catalogue
from comeback.adapters.queues import QueuePublisher
from comeback.domain.intake import IntakePolicy, validate_messages
from comeback.domain.webhooks import SHOPIFY, WOOCOMMERCE, Mapped, shopify, woocommerce
from comeback.domain.webhooks.signatures import SIGNATURE_HEADERS, verify
from comeback.errors import InvalidInput, PayloadTooLarge, Unauthorized
from comeback.jsonutil import dumps
from comeback.models.catalogue import Product
from comeback.models.shop import Shop
from comeback.services.shops import valid_shop_id

# Shopify caps its payloads well below this; a product with many variants is the largest.
MAX_WEBHOOK_BYTES = 1024 * 1024
# One message for every bad case: a caller learns nothing about which shops exist.
REFUSED = "the webhook signature does not verify for this shop"
_PING = re.compile(rb"^webhook_id=[0-9]{1,20}$")


@dataclass(frozen=True)
class WebhookOutcome:
    status: int
    body: dict[str, Any]
    shop_id: str
    topic: str
    accepted: int = 0
    rejected: int = 0
    products_changed: int = 0


def receive(
    *,
    platform: str,
    shop_id: str | None,
    headers: dict[str, str],
    body: bytes,
    shop_for: Callable[[str], Shop | None],
    secret_for: Callable[[str, str], str | None],
    publisher: QueuePublisher,
    catalogue: Catalogue,
    received_at: datetime,
    policy_for: Callable[[Shop], IntakePolicy] = lambda shop: IntakePolicy(),
    save_products: Callable[[Shop, list[Product]], int] | None = None,
) -> WebhookOutcome:
    """Answer one delivery (headers lower-cased). Unauthorized unless it is signed with the
    shop's secret for this platform; a 2xx means its events are on the queue.

    Products are saved by `save_products` (services.alerts: saves, and alerts watchers of a
    change), returning how many changed; without it, only saved to the catalogue."""
    if len(body) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge(f"webhook body is over the {MAX_WEBHOOK_BYTES // 1024} KB limit")
    if not shop_id or not valid_shop_id(shop_id):
        raise Unauthorized(REFUSED)
    shop = shop_for(shop_id)
    secret = secret_for(shop_id, platform) if shop is not None else None
    if shop is None or secret is None:
        raise Unauthorized(REFUSED)
    signature = headers.get(SIGNATURE_HEADERS[platform])
    if platform == WOOCOMMERCE and signature is None and _PING.match(body.strip()):
        # Saving a webhook in WooCommerce posts `webhook_id=<id>`, unsigned, and keeps the
        # webhook only if the answer is 200. It carries nothing to store.
        return WebhookOutcome(200, {"success": True, "ping": True}, shop_id, "ping")
    if not verify(body, secret, signature):
        raise Unauthorized(REFUSED)

    topic, delivery_id = _topic_and_delivery(platform, headers, body)
    payload = _document(body)
    try:
        mapped = _map(platform, topic, payload, delivery_id, shop)
    except (ValueError, ArithmeticError) as exc:  # pydantic's ValidationError is a ValueError
        raise InvalidInput("webhook payload has values out of range") from exc
    accepted = rejected = 0
    answer: dict[str, Any] = {"success": True, "topic": topic}
    if mapped.messages:
        parsed = validate_messages(
            "batch",
            {"batch": mapped.messages},
            received_at=received_at,
            shop_id=shop_id,
            source="server",
            policy=policy_for(shop),
        )
        publisher.publish([dumps(e.model_dump(), ascii_only=True) for e in parsed.accepted])
        accepted, rejected = len(parsed.accepted), len(parsed.rejected)
        if parsed.rejected:
            # A redelivery would be refused the same way: answered 200, and reported.
            answer["rejected"] = [r.as_dict() for r in parsed.rejected]
    # A state "from the future" would shadow every real update until then: it happened now.
    products = [
        p if p.updated_at <= received_at else p.model_copy(update={"updated_at": received_at})
        for p in mapped.products
    ]
    if save_products is not None:
        changed = save_products(shop, products)
    else:
        changed = sum(catalogue.save_product(shop_id, product) for product in products)
    answer.update(accepted=accepted, products=len(mapped.products))
    if not mapped.messages and not mapped.products:
        answer["ignored"] = True
    return WebhookOutcome(200, answer, shop_id, topic, accepted, rejected, changed)


def _topic_and_delivery(platform: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
    """The topic, and the id a redelivery repeats (falling back to the body's digest)."""
    if platform == SHOPIFY:
        topic = headers.get("x-shopify-topic", "")
        delivery = headers.get("x-shopify-webhook-id") or headers.get("x-shopify-event-id")
    else:
        topic = headers.get("x-wc-webhook-topic") or ".".join(
            headers.get(f"x-wc-webhook-{part}", "") for part in ("resource", "event")
        )
        delivery = headers.get("x-wc-webhook-delivery-id")
        if delivery and headers.get("x-wc-webhook-id"):
            delivery = f"{headers['x-wc-webhook-id']}:{delivery}"
    delivery = (delivery or "").strip()
    if not delivery or len(delivery) > 200:
        delivery = "body-" + hashlib.sha256(body).hexdigest()[:32]
    return topic.strip()[:100], delivery


def _document(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("webhook body is not valid JSON") from exc
    except RecursionError as exc:
        raise InvalidInput("webhook body is nested too deeply") from exc
    if not isinstance(document, dict):
        raise InvalidInput("webhook body must be a JSON object")
    return document


def _map(platform: str, topic: str, payload: dict[str, Any], delivery: str, shop: Shop) -> Mapped:
    currency = shop.settings.currency
    if platform == SHOPIFY:
        return shopify.map_delivery(
            topic, payload, delivery_id=delivery, site_url=shop.settings.site_url, currency=currency
        )
    return woocommerce.map_delivery(topic, payload, delivery_id=delivery, currency=currency)
