"""The HTTP API's routes, shared by the CDK stack and the local HTTP server."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str  # folder name under functions/


TRACKING_CALLS = ("track", "identify", "page", "screen", "group", "alias", "batch", "import")

ROUTES: tuple[Route, ...] = (
    *(Route("POST", f"/v1/{call}", "intake") for call in TRACKING_CALLS),
    # Browser push: the site registers and removes its visitors' subscriptions, and fetches
    # the VAPID public key it subscribes with (applicationServerKey).
    Route("POST", "/v1/push/subscribe", "intake"),
    Route("POST", "/v1/push/unsubscribe", "intake"),
    Route("GET", "/v1/push/public-key", "intake"),
    # Shop platforms' webhooks, signed with the shop's webhook secret (`?shop=<shop_id>`).
    Route("POST", "/v1/webhooks/shopify", "webhooks"),
    Route("POST", "/v1/webhooks/woocommerce", "webhooks"),
    # The shop's backend reports product changes (secret key only); they may alert watchers.
    Route("POST", "/v1/products", "webhooks"),
    # The shop's backend or its owner reads and changes the shop's settings (secret key only).
    Route("GET", "/v1/settings", "webhooks"),
    Route("PATCH", "/v1/settings", "webhooks"),
    # Signed links in messages: tracked clicks, restore-cart pages, one-click unsubscribe.
    Route("GET", "/v1/click", "unsubscribe"),
    Route("GET", "/v1/cart", "unsubscribe"),
    Route("GET", "/v1/unsubscribe", "unsubscribe"),
    # Privacy rights (the shop's secret key only): read, export, erase a person.
    Route("GET", "/v1/privacy/profile", "privacy"),
    Route("GET", "/v1/privacy/export", "privacy"),
    Route("POST", "/v1/privacy/erase", "privacy"),
    # The shop's key figures over a date range (the shop's secret key only).
    Route("GET", "/v1/kpis", "reporting"),
    Route("POST", "/v1/unsubscribe", "unsubscribe"),
    # The browser snippet: its script, the service worker the shop's root file imports, the
    # shop's public snippet settings, and the on-site message (if any) for a visitor.
    Route("GET", "/v1/web/comeback.js", "web"),
    Route("GET", "/v1/web/sw.js", "web"),
    Route("GET", "/v1/web/config", "web"),
    Route("GET", "/v1/web/onsite", "web"),
)


def find_route(method: str, path: str) -> Route | None:
    for route in ROUTES:
        if route.method == method and route.path == path:
            return route
    return None
