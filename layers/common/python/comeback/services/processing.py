"""Applying an accepted event to the profile it belongs to."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from comeback.adapters.store import DuplicateEvent, Store
from comeback.domain.identity import identifiers_of, resolve
from comeback.domain.profiles import apply_event, new_profile
from comeback.domain.timers import plan_timers
from comeback.errors import ConcurrentUpdate
from comeback.models.events import AcceptedEvent
from comeback.models.shop import ShopSettings

MAX_ATTEMPTS = 6


def process_event(store: Store, event: AcceptedEvent, settings: ShopSettings, *,
                  now: datetime, retention: timedelta) -> Literal["applied", "duplicate"]:
    """Apply one event exactly once. A lost race re-reads and tries again."""
    message = event.parsed()
    identifiers = identifiers_of(message)
    for _ in range(MAX_ATTEMPTS):
        links = store.find_links(event.shop_id, identifiers)
        profiles = store.get_profiles(event.shop_id, links.values()) if links else {}
        resolution = resolve(identifiers, links,
                             {pid: p.user_id for pid, p in profiles.items()})
        before = profiles.get(resolution.profile_id) if resolution.profile_id else None
        profile_id = resolution.profile_id or uuid.uuid4().hex
        base = before or new_profile(event.shop_id, profile_id, now)
        after = apply_event(base, message, event.timestamp, identifiers, settings, now)
        timers = plan_timers(before, after, settings)
        try:
            store.commit_event(event=event, profile=after,
                               expected_version=before.version if before else None,
                               new_links=resolution.new_links, timers=timers,
                               retention=retention)
        except DuplicateEvent:
            return "duplicate"
        except ConcurrentUpdate:
            continue
        return "applied"
    raise ConcurrentUpdate(f"gave up after {MAX_ATTEMPTS} attempts")
