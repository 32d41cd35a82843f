"""Storing a shop's webhook secret in the stack's Secrets Manager secret.

One secret per stack holds every shop's, as `{"<shop_id>": {"shopify": ..., "woocommerce":
...}}`; the stack creates it with a placeholder and this adds to it. Shopify gives you the
secret (the app's client secret, or the one shown under Settings > Notifications >
Webhooks); WooCommerce takes whatever you paste, so one is generated when none is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from comeback.domain.webhooks import PLATFORMS
from comeback.domain.webhooks.signatures import (
    check_secret,
    generate_secret,
    parse_book,
    with_secret,
)
from comeback.jsonutil import dumps

WEBHOOK_PATHS = {platform: f"/v1/webhooks/{platform}" for platform in PLATFORMS}


@dataclass(frozen=True)
class WebhookSecretInstall:
    shop_id: str
    platform: str
    secret: str
    generated: bool

    @property
    def path(self) -> str:
        """What to register at the platform, after the API's base URL."""
        return f"{WEBHOOK_PATHS[self.platform]}?shop={self.shop_id}"


def install_webhook_secret(
    secrets_client: Any, secret_id: str, shop_id: str, platform: str, secret: str | None = None
) -> WebhookSecretInstall:
    """Store the shop's secret for `platform` (generated if not given), keeping the others.

    NOTE: read-modify-write without a lock: two installs at the same moment could lose one.
    It is an operator's command, run by hand, one at a time."""
    if platform not in PLATFORMS:
        raise ValueError(f"platform must be one of {', '.join(PLATFORMS)}")
    value = check_secret(secret) if secret is not None else generate_secret()
    current = secrets_client.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    book = with_secret(parse_book(current), shop_id, platform, value)
    secrets_client.put_secret_value(SecretId=secret_id, SecretString=dumps(book))
    return WebhookSecretInstall(shop_id, platform, value, generated=secret is None)
