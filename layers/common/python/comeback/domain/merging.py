"""Two profiles that turn out to be one person become one: which may merge, and what the merged
profile holds.

Who merges (`absorbable`): an anonymous profile joins the known profile its identifiers lead
to (a visitor who signs up or logs in on a new device); two known profiles join only through a
strong identifier (the same email address or phone number) or an explicit `alias`, never
through a device (an anonymous id that logged into two accounts is a shared device, and the
accounts stay apart). Merges are made only by trusted calls (the shop's secret key, or its
platform's signed webhooks): anyone can send the public write key's calls, and a merge cannot
be undone.

What the merged profile holds (`merge_profiles`): counters add up, first and last times
combine, consents keep the most recent decision per channel, the most recently changed cart
survives (unless an order or an emptied cart closed it later), and the merge is remembered
(`merged_from`) so that a profile is absorbed once and merges cannot loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from comeback.domain.identity import DEVICE_IDENTIFIERS, EMAIL, PHONE, USER
from comeback.models.profile import (
    MAX_ANONYMOUS_IDS,
    MAX_MERGED_FROM,
    MAX_OTHER_IDENTIFIERS,
    MAX_OTHER_USER_IDS,
    MAX_PUSH_SUBSCRIPTIONS,
    MAX_RECENT_MESSAGES,
    MAX_RECENT_ONSITE,
    MAX_RECENT_ORDER_IDS,
    MAX_RECENT_SENDS,
    MAX_TRAITS,
    Browsing,
    Cart,
    MessageStats,
    OrderStats,
    Profile,
)

# How many merge pointers a reader follows before giving up (a chain longer than this would
# mean a bug, never a loop: a profile only ever merges into one that has not merged).
MAX_MERGE_HOPS = 5

T = TypeVar("T")


def user_ids(profile: Profile) -> frozenset[str]:
    return frozenset(filter(None, (profile.user_id, *profile.other_user_ids)))


def absorbable(
    winner: Profile, other: Profile, *, via: Iterable[str], explicit: bool = False
) -> bool:
    """Whether `other` should now be merged into `winner`. `via`: the identifier types of the
    event that lead to `other`; `explicit`: the event is an `alias` call."""
    if other.profile_id == winner.profile_id or other.profile_id in winner.merged_from:
        return False
    if winner.merged_into is not None:
        return False  # only ever merge into a live profile
    if other.merged_into is not None:
        # Frozen for this merge by a run that stopped before absorbing it: finish it.
        return other.merged_into == winner.profile_id
    if explicit:
        return True
    mine, theirs = user_ids(winner), user_ids(other)
    if not mine or not theirs or mine & theirs:
        return True
    return bool(set(via) - DEVICE_IDENTIFIERS - {USER})


def _union(first: Iterable[T], second: Iterable[T], limit: int) -> list[T]:
    return list(dict.fromkeys([*first, *second]))[-limit:]


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((v for v in (a, b) if v is not None), default=None)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((v for v in (a, b) if v is not None), default=None)


def _merge_orders(a: OrderStats, b: OrderStats) -> OrderStats:
    if not b.count:
        return a.model_copy()
    if not a.count:
        return b.model_copy()
    earlier = a if a.first_at and b.first_at and a.first_at <= b.first_at else b
    later = b if earlier is a else a
    same_first_day = (
        earlier.first_at is not None
        and later.first_at is not None
        and earlier.first_at.date() == later.first_at.date()
    )
    first_day = (earlier.first_day_revenue or Decimal(0)) + (
        (later.first_day_revenue or Decimal(0)) if same_first_day else Decimal(0)
    )
    return OrderStats(
        count=a.count + b.count,
        revenue=a.revenue + b.revenue,
        first_at=_earliest(a.first_at, b.first_at),
        last_at=_latest(a.last_at, b.last_at),
        currency=a.currency or b.currency,
        recent_ids=_union(b.recent_ids, a.recent_ids, MAX_RECENT_ORDER_IDS),
        # Days both bought on count twice: the counters do not keep the days themselves.
        occasions=(a.occasions or a.count) + (b.occasions or b.count) - int(same_first_day),
        first_day_revenue=first_day,
    )


def _merge_messages(a: MessageStats, b: MessageStats) -> MessageStats:
    kinds = set(a.last_by_kind) | set(b.last_by_kind)
    channels = set(a.sent_by_channel) | set(b.sent_by_channel)
    marketing = set(a.recent_marketing) | set(b.recent_marketing)
    return MessageStats(
        sent=a.sent + b.sent,
        last_sent_at=_latest(a.last_sent_at, b.last_sent_at),
        last_by_kind={k: _latest(a.last_by_kind.get(k), b.last_by_kind.get(k)) for k in kinds},
        entered_by_kind={
            k: _latest(a.entered_by_kind.get(k), b.entered_by_kind.get(k))
            for k in set(a.entered_by_kind) | set(b.entered_by_kind)
        },
        sent_by_channel={
            c: a.sent_by_channel.get(c, 0) + b.sent_by_channel.get(c, 0) for c in channels
        },
        recent_marketing={
            c: sorted({*a.recent_marketing.get(c, []), *b.recent_marketing.get(c, [])})[
                -MAX_RECENT_SENDS:
            ]
            for c in marketing
        },
    )


def _surviving_cart(a: Cart | None, b: Cart | None, closed_at: datetime | None) -> Cart | None:
    """The most recently changed open cart; none if an order or emptying closed it since."""
    carts = [c for c in (a, b) if c is not None and c.lines]
    if not carts:
        return a or b
    cart = max(carts, key=lambda c: c.updated_at)
    if closed_at is not None and cart.updated_at <= closed_at:
        return None
    return cart


def _later_browsing(winner: Profile, loser: Profile, cart: Cart | None) -> Browsing | None:
    """The more recent browsing of the two, unless the merged person has a cart (the cart
    journey is theirs then)."""
    if cart is not None and cart.lines:
        return None
    candidates = [b for b in (winner.browsing, loser.browsing) if b is not None]
    return max(candidates, key=lambda b: b.last_viewed_at, default=None)


def merge_profiles(winner: Profile, loser: Profile) -> Profile:
    """`winner` having absorbed `loser` (the winner keeps its id, version and identity)."""
    merged = winner.model_copy(deep=True)
    merged.created_at = min(winner.created_at, loser.created_at)
    merged.updated_at = max(winner.updated_at, loser.updated_at)
    merged.user_id = winner.user_id or loser.user_id
    merged.other_user_ids = [
        u
        for u in _union(winner.other_user_ids, sorted(user_ids(loser)), MAX_OTHER_USER_IDS)
        if u != merged.user_id
    ]
    merged.anonymous_ids = _union(winner.anonymous_ids, loser.anonymous_ids, MAX_ANONYMOUS_IDS)
    merged.other_identifiers = _union(
        winner.other_identifiers, loser.other_identifiers, MAX_OTHER_IDENTIFIERS
    )
    merged.email = winner.email or loser.email
    merged.phone = winner.phone or loser.phone
    merged.timezone = winner.timezone or loser.timezone
    merged.push_endpoints = _union(
        loser.push_endpoints, winner.push_endpoints, MAX_PUSH_SUBSCRIPTIONS
    )
    merged.traits = dict(list({**loser.traits, **winner.traits}.items())[-MAX_TRAITS:])
    consent = dict(loser.consent)
    for channel, decision in winner.consent.items():
        theirs = consent.get(channel)
        if theirs is None or decision.at >= theirs.at:
            consent[channel] = decision
    merged.consent = consent
    merged.orders = _merge_orders(winner.orders, loser.orders)
    merged.first_seen_at = _earliest(winner.first_seen_at, loser.first_seen_at)
    merged.last_activity_at = _latest(winner.last_activity_at, loser.last_activity_at)
    merged.cart_closed_at = _latest(winner.cart_closed_at, loser.cart_closed_at)
    merged.cart = _surviving_cart(winner.cart, loser.cart, merged.cart_closed_at)
    merged.messages = _merge_messages(winner.messages, loser.messages)
    merged.browsing = _later_browsing(winner, loser, merged.cart)
    merged.last_viewed_category = winner.last_viewed_category or loser.last_viewed_category
    merged.event_count = winner.event_count + loser.event_count
    merged.recent_messages = _union(
        loser.recent_messages, winner.recent_messages, MAX_RECENT_MESSAGES
    )
    merged.onsite.page_views = winner.onsite.page_views + loser.onsite.page_views
    shown = {*winner.onsite.shown_at, *loser.onsite.shown_at}
    merged.onsite.shown_at = sorted(shown)[-MAX_RECENT_ONSITE:]
    for kind, at in loser.onsite.last_shown_by_kind.items():
        mine = merged.onsite.last_shown_by_kind.get(kind)
        merged.onsite.last_shown_by_kind[kind] = _latest(mine, at)
    merged.merged_from = _union(
        winner.merged_from, [*loser.merged_from, loser.profile_id], MAX_MERGED_FROM
    )
    return merged


def answer_to(profile: Profile, user_id: str) -> None:
    """Let a profile be found by another user id too (an `alias`: the person's new id)."""
    if user_id not in user_ids(profile):
        profile.other_user_ids = [*profile.other_user_ids, user_id][-MAX_OTHER_USER_IDS:]


def identifiers_of_profile(profile: Profile) -> list[str]:
    """Every identifier a profile is known by (what must lead to its new home)."""
    from comeback.domain.identity import ANONYMOUS

    found = [f"{USER}:{u}" for u in sorted(user_ids(profile))]
    if profile.email:
        found.append(f"{EMAIL}:{profile.email}")
    if profile.phone:
        found.append(f"{PHONE}:{profile.phone}")
    found += profile.other_identifiers
    found += [f"{ANONYMOUS}:{a}" for a in profile.anonymous_ids]
    return found
