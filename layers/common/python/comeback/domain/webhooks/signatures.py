"""Webhook signatures: base64 HMAC-SHA256 of the raw body with the shop's webhook secret.

Shopify sends it in `X-Shopify-Hmac-Sha256`, WooCommerce in `X-WC-Webhook-Signature`; both
compute it over the exact bytes sent, so it is checked before the body is parsed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from comeback.domain.webhooks import PLATFORMS

SIGNATURE_HEADERS = {
    "shopify": "x-shopify-hmac-sha256",
    "woocommerce": "x-wc-webhook-signature",
}
GENERATED_SECRET_BYTES = 32
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 512


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(
        hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    ).decode()


def verify(body: bytes, secret: str | None, signature: str | None) -> bool:
    """Whether `signature` is the body's HMAC under `secret`, compared in constant time."""
    if not secret or not signature:
        return False
    expected = sign(body, secret).encode("ascii")
    given = signature.strip().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


def generate_secret() -> str:
    return secrets.token_urlsafe(GENERATED_SECRET_BYTES)


def check_secret(secret: str) -> str:
    """A secret a shop pasted or a platform gave: printable, long enough to be a key."""
    text = secret.strip()
    if not MIN_SECRET_LENGTH <= len(text) <= MAX_SECRET_LENGTH or not text.isprintable():
        raise ValueError(
            f"a webhook secret is {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} printable characters"
        )
    return text


SecretBook = dict[str, dict[str, str]]


def parse_book(text: str) -> SecretBook:
    """The stack's secret: `{"<shop_id>": {"shopify": "...", "woocommerce": "..."}}`. The
    stack creates it with a random placeholder, which holds no shop yet."""
    try:
        document: Any = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    return {
        shop: {p: s for p, s in entry.items() if p in PLATFORMS and isinstance(s, str) and s}
        for shop, entry in document.items()
        if isinstance(shop, str) and isinstance(entry, dict)
    }


def with_secret(book: SecretBook, shop_id: str, platform: str, secret: str) -> SecretBook:
    """The book with the shop's secret for a platform. A secret another shop already uses is
    refused: the shop is named by the URL, not by the signature, so a delivery signed for one
    shop could then be posted to the other's URL and count there."""
    if platform not in PLATFORMS:
        raise ValueError(f"platform must be one of {', '.join(PLATFORMS)}")
    for other, entry in book.items():
        if other != shop_id and any(hmac.compare_digest(s, secret) for s in entry.values()):
            raise ValueError(
                f"shop {other!r} already uses this secret; give each shop its own"
                " (for Shopify, a custom app per store)"
            )
    return {**book, shop_id: {**book.get(shop_id, {}), platform: secret}}
