"""The frequency cap: at most N marketing messages per person and channel in a rolling window,
counted across every kind of message. Transactional messages are exempt."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from comeback.domain.order_status import ORDER_STATUS
from comeback.models.profile import MAX_RECENT_SENDS

# Messages a person asked for or needs (their order's status): never capped or held back.
TRANSACTIONAL_KINDS = frozenset({ORDER_STATUS})


def is_transactional(kind: str) -> bool:
    return kind in TRANSACTIONAL_KINDS


def cap_frees_at(
    recent: Iterable[datetime], now: datetime, window: timedelta, limit: int
) -> datetime | None:
    """None if one more message fits the cap now, else when the oldest counted one ages out."""
    inside = sorted(at for at in recent if now - window < at <= now)
    if len(inside) < limit:
        return None
    return inside[-limit] + window


def after_send(recent: Iterable[datetime], now: datetime, window: timedelta) -> list[datetime]:
    """What the cap remembers once a message goes out now (bounded whatever the history)."""
    kept = sorted(at for at in recent if at > now - window)
    return [*kept, now][-MAX_RECENT_SENDS:]
