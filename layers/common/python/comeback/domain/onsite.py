"""On-site messages: which pop-up, if any, the browser snippet shows a visitor now.

Pure: the profile (None for a visitor we have not seen yet), the shop's settings and a clock
in, a decision out. The answer goes to a browser that holds only the public write key, so it
carries counts and generic text, never anything that identifies the person (no email, name,
product or id).

The server-side limit counts the `Onsite Message Shown` events the snippet sends, once the
processor has put them on the profile (eventually consistent); the snippet also keeps a limit
of its own in the browser, so a show that has not reached the profile yet still counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from comeback.models.profile import MAX_RECENT_ONSITE, Profile
from comeback.models.shop import ShopSettings

CART_REMINDER = "cart_reminder"
SIGNUP_OFFER = "signup_offer"
KINDS = frozenset({CART_REMINDER, SIGNUP_OFFER})

EXIT_INTENT = "exit_intent"
DELAY = "delay"

ONSITE_SHOWN = "Onsite Message Shown"
ONSITE_CLOSED = "Onsite Message Closed"
ONSITE_CLICKED = "Onsite Message Clicked"
ONSITE_EVENTS = frozenset({ONSITE_SHOWN, ONSITE_CLOSED, ONSITE_CLICKED})

LIMIT_WINDOW = timedelta(days=1)
# A sign-up offer a visitor has seen is not offered again for this long.
SIGNUP_OFFER_REPEAT = timedelta(days=30)
SIGNUP_OFFER_DELAY_SECONDS = 5


@dataclass(frozen=True)
class OnsiteMessage:
    kind: str
    trigger: str  # "exit_intent" or "delay"
    title: str
    body: str
    cta_label: str
    cta_url: str
    delay_seconds: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(profile: Profile | None, settings: ShopSettings, now: datetime) -> OnsiteMessage | None:
    """The message to show now, or None: the shop turned them off, the visitor is unknown or
    has had their share today, or there is nothing worth saying."""
    if not settings.onsite_messages or profile is None:
        return None
    shown_today = [t for t in profile.onsite.shown_at if now - t < LIMIT_WINDOW]
    if len(shown_today) >= settings.onsite_max_per_day:
        return None
    cart = profile.cart
    if cart is not None and cart.lines:
        last = profile.onsite.last_shown_by_kind.get(CART_REMINDER)
        if last is None or last < cart.updated_at:  # once per cart, as it stands
            return cart_reminder(cart.item_count, settings)
    return signup_offer(profile, settings, now)


def cart_reminder(items: int, settings: ShopSettings) -> OnsiteMessage:
    noun = "item" if items == 1 else "items"
    return OnsiteMessage(
        kind=CART_REMINDER,
        trigger=EXIT_INTENT,
        title="Still thinking it over?",
        body=f"You have {items} {noun} in your cart. They are waiting for you.",
        cta_label="View cart",
        cta_url=_site_path(settings, "/cart"),
    )


def signup_offer(profile: Profile, settings: ShopSettings, now: datetime) -> OnsiteMessage | None:
    if profile.email or not settings.signup_url:
        return None
    if profile.onsite.page_views < settings.onsite_signup_after_page_views:
        return None
    last = profile.onsite.last_shown_by_kind.get(SIGNUP_OFFER)
    if last is not None and now - last < SIGNUP_OFFER_REPEAT:
        return None
    return OnsiteMessage(
        kind=SIGNUP_OFFER,
        trigger=DELAY,
        title="Stay in the loop",
        body="Sign up to hear about new arrivals and offers.",
        cta_label="Sign up",
        cta_url=settings.signup_url,
        delay_seconds=SIGNUP_OFFER_DELAY_SECONDS,
    )


def _site_path(settings: ShopSettings, path: str) -> str:
    site = (settings.site_url or "").rstrip("/")
    return f"{site}{path}"  # relative to the shop's page when the shop set no site URL


# -- what the processor notes on the profile -------------------------------------------------


def note_page_view(profile: Profile) -> None:
    profile.onsite.page_views += 1


def note_message_event(
    profile: Profile, event: str, properties: dict[str, Any], at: datetime
) -> None:
    """Remember a shown message (bounded); closes and clicks are kept as events only."""
    if event != ONSITE_SHOWN:
        return
    kind = properties.get("kind")
    stats = profile.onsite
    stats.shown_at = sorted([*stats.shown_at, at])[-MAX_RECENT_ONSITE:]
    if isinstance(kind, str) and kind in KINDS:
        last = stats.last_shown_by_kind.get(kind)
        if last is None or at > last:
            stats.last_shown_by_kind = {**stats.last_shown_by_kind, kind: at}
