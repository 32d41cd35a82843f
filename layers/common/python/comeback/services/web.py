"""What the browser snippet asks for: its scripts, a shop's public snippet settings, and the
on-site message for one visitor. Everything here answers the public write key, so nothing
personal goes out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from comeback.adapters.store import Store
from comeback.domain import onsite
from comeback.domain.identity import ANONYMOUS
from comeback.errors import InvalidInput, NotFound, Unauthorized
from comeback.models.shop import Shop
from comeback.services.intake import authenticate

# The files in the `comeback.web` package the API serves, by the name in the URL.
ASSETS = {"comeback.js": "snippet.js", "sw.js": "sw.js"}
MAX_ANONYMOUS_ID = 200


@dataclass(frozen=True)
class Asset:
    name: str
    text: str


def asset(name: str) -> Asset:
    """The snippet (`comeback.js`) or the service worker code (`sw.js`)."""
    filename = ASSETS.get(name)
    if filename is None:
        raise NotFound(f"no asset {name!r}")
    text = resources.files("comeback.web").joinpath(filename).read_text(encoding="utf-8")
    return Asset(name=name, text=text)


def shop_for_page(
    store: Store, write_key: str | None, shop_of: Callable[[str], Shop | None]
) -> Shop:
    """The shop whose public write key a page carries. The secret key is refused here: it
    must never sit in a page, and saying so is kinder than serving it."""
    shop_id, source = authenticate(store, write_key)
    if source != "client":
        raise Unauthorized("use the public write key in pages, never the secret key")
    shop = shop_of(shop_id)
    if shop is None:
        raise Unauthorized("unknown write key")
    return shop


def public_config(shop: Shop) -> dict[str, Any]:
    """The shop's snippet settings, as the snippet reads them."""
    settings = shop.settings
    after, _, views = settings.push_prompt_after.partition(":")
    return {
        "shopName": shop.name,
        "respectPrivacySignals": settings.respect_privacy_signals,
        "pushPrompt": {
            "after": after,
            "pageViews": int(views) if views else None,
            "cooldownDays": settings.push_prompt_cooldown_days,
        },
        "onsite": {
            "enabled": settings.onsite_messages and settings.onsite_max_per_day > 0,
            "maxPerDay": settings.onsite_max_per_day,
        },
    }


def onsite_message(
    store: Store, shop: Shop, anonymous_id: str | None, now: datetime
) -> dict[str, Any] | None:
    """The message for the visitor with this anonymous id (the profile it links to), if any."""
    if not anonymous_id or len(anonymous_id) > MAX_ANONYMOUS_ID:
        raise InvalidInput(f"anonymousId is required (at most {MAX_ANONYMOUS_ID} characters)")
    if not shop.settings.onsite_messages:
        return None
    identifier = f"{ANONYMOUS}:{anonymous_id}"
    profile_id = store.find_links(shop.shop_id, [identifier]).get(identifier)
    profile = store.get_profile(shop.shop_id, profile_id) if profile_id else None
    message = onsite.decide(profile, shop.settings, now)
    return message.as_dict() if message else None
