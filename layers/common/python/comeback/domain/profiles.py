"""Profile arithmetic: how one event changes a profile. Pure: profile and event in, profile out.

Events may arrive late or out of order (queues retry), so every rule compares event times
instead of trusting arrival order: a cart line only changes for a newer event, an order closes
the cart as of its time, and cart events older than the last order are ignored.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from comeback.domain import commerce, consent, onsite
from comeback.domain.contact import normalise_email
from comeback.domain.identity import ANONYMOUS, DEVICE, EXTERNAL, LOYALTY
from comeback.domain.push_events import PUSH_EVENTS, PUSH_SUBSCRIBED, endpoint_from
from comeback.domain.quiet_hours import zone
from comeback.errors import InvalidInput
from comeback.jsonutil import dumps
from comeback.keys import endpoint_digest
from comeback.models.events import SegmentMessage
from comeback.models.profile import (
    MAX_ANONYMOUS_IDS,
    MAX_CART_LINES,
    MAX_OTHER_IDENTIFIERS,
    MAX_PUSH_SUBSCRIPTIONS,
    MAX_RECENT_ORDER_IDS,
    MAX_TRAIT_BYTES,
    MAX_TRAITS,
    MAX_VIEWED_PRODUCTS,
    Browsing,
    Cart,
    CartLine,
    ConsentDecision,
    OrderStats,
    Profile,
    ViewedProduct,
)
from comeback.models.shop import ShopSettings

_IDENTITY_TRAITS = frozenset(
    {"email", "phone", "timezone", "consent", "loyalty_card", "loyaltyCard"}
)
PUSH_CONSENT_SOURCE = "push_subscription"
MAX_URL_LENGTH = 2048

# A product name kept for a browse-abandonment message (the rest of a long name adds nothing).
MAX_NAME_CHARS = 120


def new_profile(shop_id: str, profile_id: str, now: datetime) -> Profile:
    return Profile(shop_id=shop_id, profile_id=profile_id, created_at=now, updated_at=now)


def apply_event(
    profile: Profile,
    message: SegmentMessage,
    timestamp: datetime,
    identifiers: list[str],
    settings: ShopSettings,
    now: datetime,
    *,
    trusted: bool = False,
) -> Profile:
    """The profile after `message` (which happened at `timestamp`).

    Untrusted messages (the public write key: anyone can send them) may give a profile its
    first email address but never replace one, and their consent grants count only if the
    shop accepts client consent; withdrawals always count.
    """
    updated = profile.model_copy(deep=True)
    updated.version = profile.version + 1
    updated.updated_at = now
    updated.event_count += 1
    _note_identifiers(updated, message, identifiers)
    _note_activity(updated, timestamp)
    _merge_traits(updated, message.all_traits(), timestamp, trusted=trusted)
    _note_timezone(updated, message)
    try:
        stated = consent.statements(message)
    except ValueError:
        stated = []  # refused at intake; an event queued before that rule stays without it
    for statement in stated:
        if statement.granted and not trusted and not settings.accept_client_consent:
            continue
        if statement.granted and not trusted and statement.channel == "sms":
            # Texts cost the shop money and anyone holds the public write key: SMS consent
            # counts only from the shop's backend (secret key), after its own opt-in.
            continue
        record_consent(updated, statement.channel, statement.granted, timestamp, statement.source)
    if message.type == "track" and message.event in PUSH_EVENTS:
        _apply_push_subscription(
            updated,
            message.event,
            message.properties,
            timestamp,
            grant=trusted or settings.accept_client_consent,
        )
    elif message.type == "track" and message.event in onsite.ONSITE_EVENTS:
        onsite.note_message_event(updated, message.event, message.properties, timestamp)
    elif message.type == "track" and message.event:
        _apply_track(
            updated, message.event, message.properties, timestamp, settings, trusted=trusted
        )
    elif message.type == "page":
        onsite.note_page_view(updated)
    return updated


def _note_timezone(profile: Profile, message: SegmentMessage) -> None:
    """The person's own zone (traits) wins over the one their browser reported (context)."""
    for candidate in (message.all_traits().get("timezone"), message.context.get("timezone")):
        if isinstance(candidate, str):
            try:
                zone(candidate)
            except ValueError:
                continue
            profile.timezone = candidate
            return


def _apply_push_subscription(
    profile: Profile, event: str, properties: dict[str, Any], at: datetime, *, grant: bool
) -> None:
    """Note the browser's subscription (its endpoint's digest; the keys live in their own item)
    and the push consent the browser's permission prompt gave."""
    try:
        endpoint = (
            properties["subscription"]["endpoint"]
            if event == PUSH_SUBSCRIBED
            else endpoint_from(properties)
        )
    except (KeyError, TypeError, ValueError):
        return  # refused at intake
    digest = endpoint_digest(endpoint)
    remaining = [d for d in profile.push_endpoints if d != digest]
    if event == PUSH_SUBSCRIBED:
        profile.push_endpoints = [*remaining, digest][-MAX_PUSH_SUBSCRIPTIONS:]
        if grant:
            record_consent(profile, "push", True, at, PUSH_CONSENT_SOURCE)
    # A removal leaves the digest: the subscription item keeps a tombstone ordered by event
    # time, so a late copy of an older add or remove cannot undo a newer one.


def _note_identifiers(profile: Profile, message: SegmentMessage, identifiers: list[str]) -> None:
    if message.user_id and not profile.user_id:
        profile.user_id = message.user_id
    for identifier in identifiers:
        kind = identifier.split(":", 1)[0]
        if kind == ANONYMOUS:
            anonymous = identifier.split(":", 1)[1]
            if anonymous in profile.anonymous_ids:
                continue
            profile.anonymous_ids = [*profile.anonymous_ids, anonymous][-MAX_ANONYMOUS_IDS:]
        elif kind in (DEVICE, LOYALTY, EXTERNAL) and identifier not in profile.other_identifiers:
            profile.other_identifiers = [*profile.other_identifiers, identifier][
                -MAX_OTHER_IDENTIFIERS:
            ]


def _note_activity(profile: Profile, timestamp: datetime) -> None:
    if profile.first_seen_at is None or timestamp < profile.first_seen_at:
        profile.first_seen_at = timestamp
    if profile.last_activity_at is None or timestamp > profile.last_activity_at:
        profile.last_activity_at = timestamp


def _merge_traits(
    profile: Profile, traits: dict[str, Any], timestamp: datetime, *, trusted: bool
) -> None:
    if not traits:
        return
    email = traits.get("email")
    if email is not None and (trusted or not profile.email):
        with contextlib.suppress(InvalidInput):
            profile.email = normalise_email(email)
    phone = traits.get("phone")
    if isinstance(phone, str) and phone.startswith("+") and (trusted or not profile.phone):
        profile.phone = phone  # E.164: the intake normalised it
    kept = dict(profile.traits)
    for name, value in traits.items():
        if name in _IDENTITY_TRAITS or not isinstance(name, str) or len(name) > 100:
            continue
        if value is None:
            kept.pop(name, None)
        elif len(dumps(value).encode("utf-8")) <= MAX_TRAIT_BYTES:
            kept[name] = value
    # Bounded: the most recently set traits win once the limit is reached.
    profile.traits = dict(list(kept.items())[-MAX_TRAITS:])


def record_consent(
    profile: Profile, channel: str, granted: bool, at: datetime, source: str
) -> None:
    """Keep the most recent decision per channel; an older one arriving late changes nothing."""
    current = profile.consent.get(channel)
    if current is not None and current.at > at:
        return
    profile.consent = {
        **profile.consent,
        channel: ConsentDecision(granted=granted, at=at, source=source),
    }


def _apply_track(
    profile: Profile,
    event: str,
    properties: dict[str, Any],
    timestamp: datetime,
    settings: ShopSettings,
    *,
    trusted: bool = False,
) -> None:
    try:
        props = commerce.parse_properties(event, properties)
    except ValidationError:
        return  # refused at intake; nothing to apply from an old queued copy
    if event == commerce.ORDER_COMPLETED and isinstance(props, commerce.OrderProps):
        _apply_order(profile, props, timestamp)
        profile.browsing = None
    elif event == commerce.PRODUCT_VIEWED and isinstance(props, commerce.ProductProps):
        _note_view(profile, props, timestamp)
    elif event in commerce.CART_EVENTS and props is not None:
        profile.browsing = None  # a cart: the cart journey speaks to them now
        restore_url = restore_link(properties) if trusted else None
        _apply_cart_event(profile, event, props, timestamp, settings, restore_url)


def _note_view(profile: Profile, product: commerce.ProductProps, at: datetime) -> None:
    key = product.line_key()
    if not key:
        return
    if product.category:
        profile.last_viewed_category = " ".join(product.category.split())
    last_order = profile.orders.last_at
    if last_order is not None and at <= last_order:
        return  # a view from before the last order (a late batch): that browsing is over
    browsing = profile.browsing or Browsing(last_viewed_at=at)
    name = " ".join((product.name or "").split())[:MAX_NAME_CHARS]  # one line: a subject
    seen = ViewedProduct(product_id=key, name=name or None)
    others = [p for p in browsing.products if p.product_id != key]
    profile.browsing = browsing.model_copy(
        update={
            "views": browsing.views + 1,
            "last_viewed_at": max(browsing.last_viewed_at, at),
            "products": [seen, *others][:MAX_VIEWED_PRODUCTS],
        }
    )


def _apply_order(profile: Profile, order: commerce.OrderProps, at: datetime) -> None:
    stats = profile.orders
    if order.order_id and order.order_id in stats.recent_ids:
        return  # the same order reported twice (say by the browser and the server)
    _count_occasion(stats, at.date(), order.order_value())
    stats.count += 1
    stats.revenue += order.order_value()
    stats.currency = order.currency or stats.currency
    if stats.first_at is None or at < stats.first_at:
        stats.first_at = at
    if stats.last_at is None or at > stats.last_at:
        stats.last_at = at
    if order.order_id:
        stats.recent_ids = [*stats.recent_ids, order.order_id][-MAX_RECENT_ORDER_IDS:]
    # The order closes any cart last changed before it, whichever device it was on.
    if profile.cart_closed_at is None or at > profile.cart_closed_at:
        profile.cart_closed_at = at
    if profile.cart is not None and profile.cart.updated_at <= at:
        profile.cart = None


def _count_occasion(stats: OrderStats, day: date, value: Decimal) -> None:
    """Purchase occasions: an order on a day that already had one adds none. Exact for orders
    applied in time order; a late order falling strictly between the first and the last
    purchase day counts as a new occasion (the days in between are not kept)."""
    if stats.first_at is None or stats.last_at is None:
        stats.occasions, stats.first_day_revenue = 1, value
        return
    if stats.occasions is None:  # a profile from before occasions were counted
        stats.occasions, stats.first_day_revenue = stats.count, Decimal(0)
    first_day, last_day = stats.first_at.date(), stats.last_at.date()
    if day < first_day:
        stats.occasions += 1
        stats.first_day_revenue = value
    elif day == first_day:
        stats.first_day_revenue = (stats.first_day_revenue or Decimal(0)) + value
    elif day != last_day:
        stats.occasions += 1


def restore_link(properties: dict[str, Any]) -> str | None:
    """`properties.restore_url` of a checkout, if it is a plausible https link. Only trusted
    (server) events may set it: it becomes the link in our own messages."""
    url = properties.get("restore_url")
    if not isinstance(url, str) or not url.startswith("https://") or len(url) > MAX_URL_LENGTH:
        return None
    if any(c.isspace() or not c.isprintable() for c in url):
        return None
    return url


def _apply_cart_event(
    profile: Profile,
    event: str,
    props: Any,
    at: datetime,
    settings: ShopSettings,
    restore_url: str | None = None,
) -> None:
    if profile.cart_closed_at is not None and at <= profile.cart_closed_at:
        return  # from before the last order: that cart is gone
    cart = profile.cart or Cart(currency=settings.currency, updated_at=at)
    had_lines = bool(cart.lines)
    if event in (commerce.PRODUCT_ADDED, commerce.PRODUCT_REMOVED):
        changed = _change_line(cart, event, props, at)
    else:
        changed = _replace_lines(cart, props, at)
    if event == commerce.CHECKOUT_STARTED and cart.lines:
        cart.checkout_started_at = max(cart.checkout_started_at or at, at)
        if restore_url:
            cart.restore_url = restore_url
        profile.cart = cart
    if not changed and had_lines and event in (commerce.CHECKOUT_STARTED, commerce.CART_VIEWED):
        cart.returned_at = max(cart.returned_at or at, at)
    if not changed:
        if cart.removed and not cart.lines:
            profile.cart = cart  # only a removal seen so far: keep it for the late add
        return
    cart.cart_id = props.cart_id or cart.cart_id
    cart.currency = (props.currency or cart.currency).upper()
    cart.updated_at = max(cart.updated_at, at)
    if cart.lines:
        profile.cart = cart
    elif had_lines:
        # An emptied cart is closed as of now: any older add arriving late belonged to it.
        profile.cart = None
        profile.cart_closed_at = max(profile.cart_closed_at or at, at)


def _change_line(cart: Cart, event: str, product: commerce.ProductProps, at: datetime) -> bool:
    key = product.line_key()
    if not key:
        return False
    line = cart.lines.get(key)
    if line is not None and line.updated_at > at:
        return False
    removed_at = cart.removed.get(key)
    if line is None and removed_at is not None and removed_at >= at:
        return False
    if event == commerce.PRODUCT_ADDED:
        quantity = (line.quantity if line else 0) + max(product.quantity, 1)
        if line is None and len(cart.lines) >= MAX_CART_LINES:
            return False
        cart.lines[key] = _line(key, product, quantity, at, previous=line)
    elif line is not None:
        remaining = line.quantity - product.quantity if product.quantity else 0
        if remaining > 0 and product.quantity < line.quantity:
            cart.lines[key] = line.model_copy(update={"quantity": remaining, "updated_at": at})
        else:
            del cart.lines[key]
            _tombstone(cart, key, at)
    else:
        # A removal overtaking its add (queues reorder): remember it, so the add is ignored.
        _tombstone(cart, key, at)
        return False
    return True


def _tombstone(cart: Cart, key: str, at: datetime) -> None:
    removed = {k: v for k, v in cart.removed.items() if k != key}
    removed[key] = max(at, cart.removed.get(key, at))
    cart.removed = dict(list(removed.items())[-MAX_CART_LINES:])


def _replace_lines(cart: Cart, props: commerce.CartProps, at: datetime) -> bool:
    if at < cart.updated_at and cart.lines:
        return False
    lines: dict[str, CartLine] = {}
    for product in props.products:
        key = product.line_key()
        if key and product.quantity > 0 and len(lines) < MAX_CART_LINES:
            lines[key] = _line(key, product, product.quantity, at, previous=cart.lines.get(key))
    if not lines and not props.products:
        return False  # a snapshot without products tells nothing about the lines
    if _contents(lines) == _contents(cart.lines):
        return False  # looking at the same cart again is not a change (nor a new reminder)
    cart.lines = lines
    return True


def _contents(lines: dict[str, CartLine]) -> dict[str, int]:
    return {key: line.quantity for key, line in lines.items()}


def _line(
    key: str, product: commerce.ProductProps, quantity: int, at: datetime, previous: CartLine | None
) -> CartLine:
    price: Decimal | None = (
        product.price if product.price is not None else (previous.price if previous else None)
    )
    return CartLine(
        product_id=key,
        name=product.name or (previous.name if previous else None),
        price=price,
        quantity=quantity,
        url=product.url or (previous.url if previous else None),
        image_url=product.image_url or (previous.image_url if previous else None),
        updated_at=at,
    )
