"""Restore-cart links: a signed, expiring link in a cart reminder opens a page of ours that
shows the person's cart and sends them on to the shop's checkout.

The link works in a private window with no cookies: the signed token alone says whose cart it
is. It shows only the profile the token names (or the one that profile merged into), read
under the token's own shop, so no token shows another person's or another shop's cart.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from comeback.adapters.store import Store
from comeback.domain.merging import MAX_MERGE_HOPS
from comeback.domain.tokens import CartClaim, sign_cart, verify_cart
from comeback.errors import InvalidInput, LinkExpired
from comeback.models.profile import Profile
from comeback.models.shop import Shop
from comeback.web import pages

# Long enough for a reminder read a week later; short enough that an old, forwarded or leaked
# email stops showing what was in the cart.
DEFAULT_CART_LINK_TTL = timedelta(days=14)


def new_cart_claim(
    shop_id: str,
    profile_id: str,
    subject: str,
    now: datetime,
    ttl: timedelta = DEFAULT_CART_LINK_TTL,
) -> CartClaim:
    """The claim for a link sent now, expiring after `ttl`."""
    return CartClaim(shop_id, profile_id, subject, int((now + ttl).timestamp()))


def cart_link(public_base_url: str, claim: CartClaim, key: bytes) -> str:
    """The restore-cart URL to put in a message."""
    token = quote(sign_cart(claim, key), safe="")
    return f"{public_base_url.rstrip('/')}/v1/cart?t={token}"


def restore_page(store: Store, token: str | None, key: bytes, now: datetime) -> tuple[int, str]:
    """The status and page for a restore-cart link: 200 with the cart (or word that it was
    checked out or emptied), 400 for an altered token, 404 when the shop or person is no
    longer on file, 410 when the link has expired."""
    try:
        claim = verify_cart(token or "", key, now)
    except InvalidInput:
        return 400, pages.link_invalid()
    except LinkExpired as expired:
        shop = store.get_shop(expired.shop_id) if expired.shop_id else None
        return 410, pages.link_expired(shop.settings.site_url if shop else None)
    shop = store.get_shop(claim.shop_id)
    profile = _current_profile(store, claim) if shop is not None else None
    if shop is None or profile is None:
        return 404, pages.cart_not_found()
    cart = profile.cart
    if cart is None or not cart.lines:
        return 200, pages.cart_gone(shop.name, shop.settings.site_url)
    checkout = checkout_url(shop, cart.restore_url)
    return 200, pages.cart_page(shop.name, cart, checkout, shop.settings.site_url)


def checkout_url(shop: Shop, restore_url: str | None) -> str | None:
    """Where "Continue to checkout" goes: the platform's own link to this cart when a trusted
    call gave one (https, checked on the way in and again here), else the site's cart page,
    else nowhere."""
    if restore_url and restore_url.lower().startswith("https://"):
        return restore_url
    return site_page(shop.settings.site_url, "/cart")


def site_page(site_url: str | None, path: str) -> str | None:
    """A page of the shop's site (`site_url` is an http(s) URL, checked in ShopSettings)."""
    return site_url.rstrip("/") + path if site_url else None


def _current_profile(store: Store, claim: CartClaim) -> Profile | None:
    """The profile the claim names, or the one it merged into (within the claim's shop only);
    None when erased, or when the merge chain is longer than any real one."""
    profile = store.get_profile(claim.shop_id, claim.profile_id)
    for _ in range(MAX_MERGE_HOPS):
        if profile is None or profile.merged_into is None:
            break
        profile = store.get_profile(claim.shop_id, profile.merged_into)
    if profile is None or profile.merged_into is not None or profile.shop_id != claim.shop_id:
        return None
    return profile
