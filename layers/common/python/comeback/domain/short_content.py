"""The short messages (browser push, SMS) per message kind. Plain text: push payloads are
rendered by the browser as text and SMS has no markup, so nothing here is HTML."""

from __future__ import annotations

from dataclasses import dataclass

from comeback.domain.alerts import ALERT_KINDS, BACK_IN_STOCK, price_text, product_title
from comeback.domain.order_status import ORDER_STATUS, OrderUpdate
from comeback.domain.shown_text import shown_name
from comeback.domain.timers import BROWSE_ABANDONMENT, CART_RECOVERY, REACTIVATION
from comeback.models.catalogue import Product
from comeback.models.journey import Incentive
from comeback.models.profile import Profile
from comeback.models.shop import Shop


@dataclass(frozen=True)
class ShortContent:
    title: str
    body: str
    url: str  # where a tap or click should land (before click tracking)


def short_content(
    kind: str,
    profile: Profile,
    shop: Shop,
    *,
    product: Product | None = None,
    cart_link: str | None = None,
    incentive: Incentive | None = None,
    order: OrderUpdate | None = None,
) -> ShortContent:
    """A product alert needs the `product`; a cart reminder lands on `cart_link` (our
    restore-cart page) when given, and names a journey step's offer."""
    site = (shop.settings.site_url or "").rstrip("/")
    if kind in ALERT_KINDS and product is not None:
        title = product_title(product)
        if kind == BACK_IN_STOCK:
            headline, body = f"Back in stock at {shop.name}", f"{title} is back in stock."
        else:
            headline = f"Price drop at {shop.name}"
            body = f"{title} is now {price_text(product)}."
        return ShortContent(title=headline, body=body, url=product.url or site)
    if kind == CART_RECOVERY:
        items = profile.cart.item_count if profile.cart is not None else 0
        noun = "item" if items == 1 else "items"
        gone = "it goes" if items == 1 else "they go"
        body = f"You left {items} {noun} in your cart. Complete your order before {gone}."
        if incentive is not None:
            code = f" Code: {incentive.code}" if incentive.code else ""
            body = f"You left {items} {noun} in your cart. {incentive.description}{code}"
        return ShortContent(
            title=f"Your cart at {shop.name}",
            body=body,
            url=cart_link
            or (profile.cart.restore_url if profile.cart is not None else None)
            or (f"{site}/cart" if site else ""),
        )
    if kind == BROWSE_ABANDONMENT:
        products = profile.browsing.products if profile.browsing is not None else []
        name = next((n for n in (shown_name(p.name) for p in products) if n), None)
        return ShortContent(
            title=f"Still looking at {shop.name}?",
            body=f"{name} is still here." if name else "What you were looking at is still here.",
            url=site,
        )
    if kind == ORDER_STATUS and order is not None:
        return ShortContent(title=shop.name, body=f"{order.headline()}.", url=site)
    if kind == REACTIVATION:
        return ShortContent(
            title=f"We miss you at {shop.name}",
            body="It has been a while. Come and see what is new.",
            url=site,
        )
    raise ValueError(f"no short message for message kind {kind!r}")
