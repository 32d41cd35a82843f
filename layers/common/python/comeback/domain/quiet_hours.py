"""Quiet hours: a marketing message due at night waits for the morning, in the recipient's zone.

Times are stored in UTC; only this module looks at wall clocks. Daylight-saving changes are
handled by converting a wall-clock time to UTC once: a morning that falls in the hour a spring
change skips rolls forward past it (once), and a repeated autumn hour maps to one UTC instant,
so a rearmed timer fires (and sends) once.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@cache
def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError for anything else."""
    if not isinstance(name, str) or not name or len(name) > 64 or name.startswith("/"):
        raise ValueError("timezone must be an IANA name such as Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        message = f"unknown timezone {name!r}: use an IANA name such as Europe/Berlin"
        raise ValueError(message) from exc


def is_quiet(wall: time, start: time, end: time) -> bool:
    """Whether the wall-clock time lies in [start, end), a window that may cross midnight."""
    if start == end:
        return False
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end


def next_allowed(now: datetime, zone_name: str, start: time | None, end: time | None) -> datetime:
    """`now` if it is outside quiet hours in that zone, else when they end (UTC)."""
    if start is None or end is None:
        return now
    tz = zone(zone_name)
    local = now.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    if not is_quiet(wall, start, end):
        return now
    day = local.date()
    if start > end and wall >= start:
        day += timedelta(days=1)  # the evening part of a window that ends tomorrow morning
    # fold=0: an end time inside a skipped hour resolves to the instant after the gap.
    morning = datetime.combine(day, end, tzinfo=tz)
    return max(morning.astimezone(UTC), now)
