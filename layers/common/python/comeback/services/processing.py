"""Applying an accepted event to the profile it belongs to, exactly once, without transactions.

Order of writes: identity links, then the profile (optimistic lock on its version), then
timers and the event record together. The event record is written last and means "fully
applied";
the profile remembers the digests of its last events, so a retry of an event whose earlier run
stopped half-way repairs the timers and the record without counting the event twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Literal

from comeback.adapters.deliveries import Deliveries
from comeback.adapters.store import Store, job_key
from comeback.adapters.watchers import Watchers
from comeback.clock import iso, parse_iso
from comeback.domain import commerce
from comeback.domain.alerts import watch_for
from comeback.domain.identity import (
    DEVICE_IDENTIFIERS,
    EMAIL,
    USER,
    Resolution,
    identifiers_of,
    resolve,
)
from comeback.domain.journeys import parse_subject
from comeback.domain.merging import (
    MAX_MERGE_HOPS,
    absorbable,
    answer_to,
    identifiers_of_profile,
    merge_profiles,
    user_ids,
)
from comeback.domain.order_status import ORDER_STATUS, order_update
from comeback.domain.profiles import apply_event, new_profile
from comeback.domain.push import PushSubscription
from comeback.domain.push_events import PUSH_EVENTS, PUSH_SUBSCRIBED, endpoint_from
from comeback.domain.timers import (
    CART_RECOVERY,
    SWEEP_KINDS,
    TimerChange,
    cart_trigger,
    desired_timers,
    plan_timers,
)
from comeback.errors import ConcurrentUpdate
from comeback.jsonutil import loads
from comeback.models.events import AcceptedEvent, SegmentMessage
from comeback.models.jobs import MessageJob
from comeback.models.profile import MAX_RECENT_MESSAGES, Profile
from comeback.models.shop import ShopSettings

MAX_ATTEMPTS = 10
MAX_PRODUCT_ID = 256  # as the catalogue's (models.catalogue.Product)
BACKOFF_SECONDS = 0.02
Outcome = Literal["applied", "duplicate", "repaired"]


def message_digest(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()[:12]


class ReadAhead:
    """What a batch of events will read, fetched in two requests instead of two per event,
    and kept up to date as the batch writes. Only an event's first attempt trusts it; a lost
    race reads afresh."""

    def __init__(self, store: Store, events: list[AcceptedEvent]) -> None:
        wanted = [(e.shop_id, identifiers_of(e.parsed()), e.message_id) for e in events]
        self._links, self._recorded, self._profiles = store.read_for_events(wanted)

    def read_for_event(
        self, shop_id: str, identifiers: list[str], message_id: str
    ) -> tuple[dict[str, str], bool]:
        links = {i: self._links[(shop_id, i)] for i in identifiers if (shop_id, i) in self._links}
        return links, (shop_id, message_id) in self._recorded

    def get_profiles(self, shop_id: str, profile_ids: Iterable[str]) -> dict[str, Profile]:
        return {
            pid: self._profiles[(shop_id, pid)]
            for pid in profile_ids
            if (shop_id, pid) in self._profiles
        }

    def remember_merged(self, profile: Profile, into: str) -> None:
        self._profiles[(profile.shop_id, profile.profile_id)] = profile.model_copy(
            update={"merged_into": into, "version": profile.version + 1}
        )

    def remember(self, profile: Profile, identifiers: Iterable[str], message_id: str) -> None:
        shop_id = profile.shop_id
        self._profiles[(shop_id, profile.profile_id)] = profile
        for identifier in identifiers:
            self._links[(shop_id, identifier)] = profile.profile_id
        self._recorded.add((shop_id, message_id))


def read_ahead_for(store: Store, bodies: list[str]) -> ReadAhead:
    """The read-ahead of one SQS batch; bodies that do not parse are left to fail alone."""
    events = []
    for body in bodies:
        with contextlib.suppress(ValueError):
            events.append(AcceptedEvent.model_validate(loads(body)))
    return ReadAhead(store, events)


def _queue_order_status(
    publish: Callable[[MessageJob], None] | None,
    event: AcceptedEvent,
    message: SegmentMessage,
    settings: ShopSettings,
    profile_id: str,
    now: datetime,
) -> None:
    """Queue the transactional message for an order's progress, when the shop sends them.
    Queued again if the event's run is repeated: the job key makes it one message."""
    wanted = settings.order_status_messages
    if publish is None or not wanted.enabled:
        return
    update = order_update(
        message.event if message.type == "track" else None,
        message.properties,
        trusted=event.source == "server",
    )
    if update is None or update.status not in wanted.statuses:
        return
    publish(
        MessageJob(
            shop_id=event.shop_id,
            profile_id=profile_id,
            kind=ORDER_STATUS,
            subject=update.subject,
            job_key=job_key(ORDER_STATUS, update.subject),
            claimed_at=now,
        )
    )


def process_event(
    store: Store,
    event: AcceptedEvent,
    settings: ShopSettings,
    *,
    now: datetime,
    retention: timedelta,
    read_ahead: ReadAhead | None = None,
    publish: Callable[[MessageJob], None] | None = None,
) -> Outcome:
    """Apply one event once. A lost race re-reads and tries again. `publish` queues the
    order-status message an applied event calls for (the sender sends each one once)."""
    message = event.parsed()
    identifiers = identifiers_of(message)
    digest = message_digest(event.message_id)
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            # Spread out writers racing for one profile so that one of them wins each round.
            time.sleep(random.uniform(0, BACKOFF_SECONDS * attempt))  # noqa: S311
        reads: Store | ReadAhead = read_ahead if read_ahead and not attempt else store
        links, recorded = reads.read_for_event(event.shop_id, identifiers, event.message_id)
        if recorded:
            return "duplicate"
        profiles = reads.get_profiles(event.shop_id, links.values()) if links else {}
        linked_to = dict(links)  # before following merges: which identifier led where
        links, profiles, frozen = _follow_merges(store, event.shop_id, links, profiles)
        # A trusted `alias` says the ids are one person: no profile is kept apart by its owner.
        alias = message.type == "alias" and event.source == "server"
        owners = {} if alias else {pid: user_ids(p) for pid, p in profiles.items()}
        resolution = resolve(identifiers, links, owners)
        trusted = event.source == "server"
        # A new account whose email (phone, card...) already leads to someone: the backend says
        # they are one person, so the account joins that profile rather than starting one.
        joining = trusted and resolution.profile_id is None and message.user_id is not None
        joined = _person_led_to(links, profiles) if joining else None
        if joined is not None:
            resolution = Resolution(joined, resolution.new_links)
        before = profiles.get(resolution.profile_id) if resolution.profile_id else None
        profile_id = resolution.profile_id or uuid.uuid4().hex

        if before is not None and digest in before.recent_messages:
            absorbed = [f for f in frozen.values() if f.profile_id in before.merged_from]
            _finish_merges(store, event.shop_id, profile_id, absorbed, now, before)
            _store_push_subscription(store, event, profile_id)
            _store_watch(store, event, profile_id, settings)
            store.finish_event(event, profile_id, desired_timers(before, settings), retention, now)
            _queue_order_status(publish, event, message, settings, profile_id, now)
            return "repaired"

        new_links = resolution.new_links
        if not trusted and before is not None and before.email:
            # A client may not attach another address to a profile that has one.
            new_links = tuple(i for i in new_links if not i.startswith(f"{EMAIL}:"))
        losers = _to_absorb(before, profiles, frozen, linked_to, message.type) if trusted else []
        if not all(store.freeze_profile(p, profile_id) for p in losers if p.merged_into is None):
            continue  # one of them changed since it was read: read again
        base = before or new_profile(event.shop_id, profile_id, now)
        for loser in losers:
            base = merge_profiles(base, loser)
        # The profile records only identifiers that lead to it: one that leads to someone
        # else (say an anonymous id a browser named beside a known email) stays theirs.
        own = [i for i in identifiers if links.get(i, profile_id) == profile_id]
        after = apply_event(base, message, event.timestamp, own, settings, now, trusted=trusted)
        if (alias or joined is not None) and message.user_id:
            answer_to(after, message.user_id)
        after.recent_messages = [*after.recent_messages, digest][-MAX_RECENT_MESSAGES:]
        timers = plan_timers(before, after, settings)
        adopting = before is None and resolution.profile_id is not None
        try:
            if adopting:
                # The link points at a profile whose first writer has not saved it (yet, or
                # ever): write it, then assert every link to it, so a writer that gives up
                # and takes its links back cannot leave this profile unreachable.
                store.save_profile(after, None)
                mine = tuple(i for i, linked in links.items() if linked == profile_id)
                with contextlib.suppress(ConcurrentUpdate):
                    store.link_identifiers(event.shop_id, profile_id, (*mine, *new_links), now)
            else:
                store.link_identifiers(event.shop_id, profile_id, new_links, now)
                store.save_profile(after, before.version if before else None)
        except ConcurrentUpdate:
            if before is None and not adopting:
                _take_back_links(store, event.shop_id, profile_id, new_links, now)
            continue
        _finish_merges(store, event.shop_id, profile_id, losers, now, after)
        _store_push_subscription(store, event, profile_id)
        _store_watch(store, event, profile_id, settings)
        store.finish_event(event, profile_id, timers, retention, now)
        if read_ahead is not None:
            mine = [i for i, linked in links.items() if linked == profile_id]
            moved = [i for loser in losers for i in identifiers_of_profile(loser)]
            read_ahead.remember(after, [*mine, *new_links, *moved], event.message_id)
            for loser in losers:
                read_ahead.remember_merged(loser, profile_id)
        _queue_order_status(publish, event, message, settings, profile_id, now)
        return "applied"
    raise ConcurrentUpdate(f"gave up after {MAX_ATTEMPTS} attempts")


def _follow_merges(
    store: Store, shop_id: str, links: dict[str, str], profiles: dict[str, Profile]
) -> tuple[dict[str, str], dict[str, Profile], dict[str, Profile]]:
    """Links and profiles with every merged profile replaced by the one it merged into, and
    the merged (frozen) profiles met on the way."""
    frozen: dict[str, Profile] = {}
    profiles = dict(profiles)
    for _ in range(MAX_MERGE_HOPS):
        pointing = {pid: p for pid, p in profiles.items() if p.merged_into}
        if not pointing:
            break
        frozen.update(pointing)
        targets = {str(p.merged_into) for p in pointing.values()} - set(profiles)
        if targets:
            profiles.update(store.get_profiles(shop_id, targets))
        links = {
            i: str(pointing[pid].merged_into) if pid in pointing else pid
            for i, pid in links.items()
        }
        profiles = {pid: p for pid, p in profiles.items() if pid not in pointing}
    return links, profiles, frozen


def _person_led_to(links: dict[str, str], profiles: dict[str, Profile]) -> str | None:
    """The profile an identifier of a person (not a device, not a user id) leads to."""
    for identifier, profile_id in links.items():
        kind = identifier.split(":", 1)[0]
        if kind not in DEVICE_IDENTIFIERS and kind != USER and profile_id in profiles:
            return profile_id
    return None


def _to_absorb(
    before: Profile | None,
    profiles: dict[str, Profile],
    frozen: dict[str, Profile],
    linked_to: dict[str, str],
    message_type: str,
) -> list[Profile]:
    """The other profiles this (trusted) event shows to be the same person as `before`."""
    if before is None:
        return []
    candidates = {**profiles, **frozen}
    return [
        other
        for pid, other in sorted(candidates.items())
        if absorbable(
            before,
            other,
            via={i.split(":", 1)[0] for i, linked in linked_to.items() if linked == pid},
            explicit=message_type == "alias",
        )
    ]


def _finish_merges(
    store: Store,
    shop_id: str,
    profile_id: str,
    absorbed: list[Profile],
    now: datetime,
    merged: Profile | None = None,
) -> None:
    """After a merge is saved: the absorbed profiles' identifiers, browsers and timers move
    to (or stop in favour of) the profile that absorbed them. Each step is idempotent, and a
    reader that meets an old link follows the absorbed profile's pointer meanwhile. A cart
    journey under way on an absorbed profile whose cart the merged one kept goes on there,
    at the step it had reached."""
    for loser in absorbed:
        store.move_links(shop_id, loser.profile_id, profile_id, identifiers_of_profile(loser))
        Deliveries(store).move_subscriptions(
            shop_id, loser.profile_id, profile_id, loser.push_endpoints
        )
        if merged is not None:
            _carry_cart_journey(store, shop_id, loser.profile_id, merged, now)
        stop = [TimerChange(kind, None) for kind in SWEEP_KINDS]
        store.apply_timers(shop_id, loser.profile_id, stop, now)


def _carry_cart_journey(
    store: Store, shop_id: str, loser_id: str, merged: Profile, now: datetime
) -> None:
    trigger = cart_trigger(merged)
    timer = store.get_timer(shop_id, loser_id, CART_RECOVERY)
    if trigger is None or timer is None:
        return
    if parse_subject(timer.subject).state != iso(trigger):
        return  # the absorbed profile's journey was about a cart the merge did not keep
    if store.get_timer(shop_id, merged.profile_id, CART_RECOVERY) is not None:
        return  # the merged profile runs a cart journey of its own
    change = TimerChange(CART_RECOVERY, parse_iso(timer.due_at), timer.subject)
    store.apply_timers(shop_id, merged.profile_id, [change], now)


def _take_back_links(
    store: Store, shop_id: str, profile_id: str, identifiers: tuple[str, ...], now: datetime
) -> None:
    """Another event of the same new person won one of the identifiers: the links this attempt
    did get would point at a profile that will never exist. Unless a third event adopted
    that link meanwhile and wrote the profile itself; then the links stay (or come back)."""
    if store.get_profile(shop_id, profile_id) is not None:
        return
    store.unlink_identifiers(shop_id, profile_id, identifiers)
    if store.get_profile(shop_id, profile_id) is not None:
        with contextlib.suppress(ConcurrentUpdate):
            store.link_identifiers(shop_id, profile_id, identifiers, now)


def _store_push_subscription(store: Store, event: AcceptedEvent, profile_id: str) -> None:
    """A browser subscribed or unsubscribed: keep its keys in their own item (idempotent, and
    ordered by the event's time, so a retry or a late copy changes nothing)."""
    message = event.parsed()
    if message.type != "track" or message.event not in PUSH_EVENTS:
        return
    deliveries = Deliveries(store)
    if message.event == PUSH_SUBSCRIBED:
        raw = message.properties["subscription"]  # normalised by the intake
        sub = PushSubscription(raw["endpoint"], raw["keys"]["p256dh"], raw["keys"]["auth"])
        deliveries.save_subscription(event.shop_id, profile_id, sub, event.timestamp)
    else:
        endpoint = endpoint_from(message.properties)
        deliveries.remove_subscription(event.shop_id, profile_id, endpoint, event.timestamp)


def _store_watch(
    store: Store, event: AcceptedEvent, profile_id: str, settings: ShopSettings
) -> None:
    """The person viewed, carted or asked about a product: they watch it, for back-in-stock
    and price-drop alerts (idempotent: the longest watch is kept, so a retry changes nothing)."""
    message = event.parsed()
    reason = commerce.WATCH_EVENTS.get(message.event or "") if message.type == "track" else None
    if reason is None:
        return
    product_id = message.properties.get("product_id")
    if isinstance(product_id, int) and not isinstance(product_id, bool):
        product_id = str(product_id)
    if not isinstance(product_id, str) or not product_id or len(product_id) > MAX_PRODUCT_ID:
        return
    watch = watch_for(reason, event.timestamp, settings.alert_watch_days)
    Watchers.of(store).watch(event.shop_id, product_id, profile_id, watch)
