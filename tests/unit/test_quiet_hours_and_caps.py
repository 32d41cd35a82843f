"""Quiet hours across daylight-saving changes, and the rolling frequency cap."""

from datetime import UTC, datetime, time, timedelta

import pytest
from comeback.domain.frequency import after_send, cap_frees_at, is_transactional
from comeback.domain.quiet_hours import is_quiet, next_allowed, zone
from comeback.models.profile import MAX_RECENT_SENDS

NIGHT = (time(21, 0), time(8, 0))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_outside_quiet_hours_a_message_goes_now():
    noon = utc(2024, 6, 3, 10, 0)  # 12:00 in Berlin
    assert next_allowed(noon, "Europe/Berlin", *NIGHT) == noon


def test_late_evening_waits_for_the_next_morning_and_early_morning_for_this_one():
    evening = utc(2024, 6, 3, 21, 30)  # 23:30 CEST
    assert next_allowed(evening, "Europe/Berlin", *NIGHT) == utc(2024, 6, 4, 6, 0)
    early = utc(2024, 6, 4, 1, 0)  # 03:00 CEST
    assert next_allowed(early, "Europe/Berlin", *NIGHT) == utc(2024, 6, 4, 6, 0)


def test_the_morning_after_the_spring_change_is_at_eight_summer_time():
    # Berlin moves from CET to CEST at 02:00 on 2024-03-31.
    night = utc(2024, 3, 30, 22, 0)  # 23:00 CET
    assert next_allowed(night, "Europe/Berlin", *NIGHT) == utc(2024, 3, 31, 6, 0)


def test_a_window_ending_inside_the_skipped_hour_rolls_forward_once():
    # 01:00-02:30 local: 02:30 does not exist on 2024-03-31; it becomes 03:30 CEST (01:30 UTC).
    at = utc(2024, 3, 31, 0, 30)  # 01:30 CET, inside the window
    allowed = next_allowed(at, "Europe/Berlin", time(1, 0), time(2, 30))
    assert allowed == utc(2024, 3, 31, 1, 30)
    assert allowed.astimezone(zone("Europe/Berlin")).hour == 3
    # ...and that instant is outside the window: asking again sends at once.
    assert next_allowed(allowed, "Europe/Berlin", time(1, 0), time(2, 30)) == allowed


def test_the_repeated_autumn_hour_maps_to_one_instant():
    # 2024-10-27: 02:00-03:00 happens twice in Berlin. A window ending at 02:30 ends once,
    # at the first 02:30 (00:30 UTC); the second 02:30 (01:30 UTC) is already outside.
    inside = utc(2024, 10, 26, 23, 30)  # 01:30 CEST
    first = next_allowed(inside, "Europe/Berlin", time(1, 0), time(2, 30))
    assert first == utc(2024, 10, 27, 0, 30)
    assert next_allowed(first, "Europe/Berlin", time(1, 0), time(2, 30)) == first
    second = utc(2024, 10, 27, 1, 30)  # 02:30 CET, the repeat
    assert next_allowed(second, "Europe/Berlin", time(1, 0), time(2, 30)) == second


def test_windows_within_a_day_and_disabled_ones():
    assert is_quiet(time(13, 0), time(12, 0), time(14, 0))
    assert not is_quiet(time(14, 0), time(12, 0), time(14, 0))
    assert not is_quiet(time(3, 0), time(5, 0), time(5, 0))
    at = utc(2024, 6, 3, 2, 0)
    assert next_allowed(at, "UTC", None, None) == at


def test_unknown_zones_are_refused():
    for bad in ("Mars/Olympus", "", "../etc/passwd", "/etc/localtime"):
        with pytest.raises(ValueError):
            zone(bad)


def test_the_cap_counts_only_messages_inside_the_window():
    now = utc(2024, 6, 3, 12, 0)
    window = timedelta(hours=16)
    assert cap_frees_at([], now, window, 1) is None
    recent = [now - timedelta(hours=2)]
    assert cap_frees_at(recent, now, window, 1) == now + timedelta(hours=14)
    assert cap_frees_at(recent, now, window, 2) is None
    old = [now - timedelta(hours=17)]
    assert cap_frees_at(old, now, window, 1) is None


def test_the_cap_history_stays_bounded_and_forgets_what_aged_out():
    now = utc(2024, 6, 3, 12, 0)
    window = timedelta(days=30)
    history = [now - timedelta(hours=h) for h in range(100, 0, -1)]
    kept = after_send(history, now, window)
    assert len(kept) == MAX_RECENT_SENDS and kept[-1] == now
    assert after_send([now - timedelta(days=31)], now, window) == [now]


def test_order_status_messages_are_transactional_reminders_are_not():
    assert is_transactional("order_status")
    assert not is_transactional("cart_recovery")
