"""The short messages (browser push, SMS) per message kind. Plain text: push payloads are
rendered by the browser as text and SMS has no markup, so nothing here is HTML."""

from __future__ import annotations

from dataclasses import dataclass

from comeback.domain.timers import CART_RECOVERY, REACTIVATION
from comeback.models.profile import Profile
from comeback.models.shop import Shop


@dataclass(frozen=True)
class ShortContent:
    title: str
    body: str
    url: str  # where a tap or click should land (before click tracking)


def short_content(kind: str, profile: Profile, shop: Shop) -> ShortContent:
    site = (shop.settings.site_url or "").rstrip("/")
    if kind == CART_RECOVERY:
        items = profile.cart.item_count if profile.cart is not None else 0
        noun = "item" if items == 1 else "items"
        return ShortContent(
            title=f"Your cart at {shop.name}",
            body=f"You left {items} {noun} in your cart. Complete your order before they go.",
            url=(profile.cart.restore_url if profile.cart is not None else None)
            or (f"{site}/cart" if site else ""),
        )
    if kind == REACTIVATION:
        return ShortContent(
            title=f"We miss you at {shop.name}",
            body="It has been a while. Come and see what is new.",
            url=site,
        )
    raise ValueError(f"no short message for message kind {kind!r}")
