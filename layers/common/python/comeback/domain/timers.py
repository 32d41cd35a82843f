"""What falls due when: the timers a profile change sets or cancels.

A timer is a small item in the sparse "due" index. Its `subject` names the state it was set
for (the cart's last change, the last activity), so a reminder for a cart that has since
changed, or a win-back for someone who has since come back, is recognised as stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from comeback.clock import iso
from comeback.domain.alerts import ALERT_KINDS
from comeback.domain.journeys import first_step_due, journey_for
from comeback.models.profile import Profile
from comeback.models.shop import ShopSettings

CART_RECOVERY = "cart_recovery"
REACTIVATION = "reactivation"
BROWSE_ABANDONMENT = "browse_abandonment"
# Product alerts are queued at once when the product changes; their timers only hold one
# back over the person's quiet hours (domain.sending), so their sweeps find little.
SWEEP_KINDS = (CART_RECOVERY, BROWSE_ABANDONMENT, REACTIVATION, *ALERT_KINDS)

# A win-back timer is only moved when activity moved it by at least this much, so that a
# busy customer costs one timer write a day, not one per page view. The sender checks the
# exact lapse before sending and re-arms a timer that fired early.
REACTIVATION_TIMER_GRANULARITY = timedelta(days=1)


@dataclass(frozen=True)
class TimerChange:
    kind: str
    due_at: datetime | None  # None: cancel the timer
    subject: str = ""


def _journey_began(profile: Profile, kind: str, state_at: datetime) -> bool:
    """Whether the person already entered (or was messaged by) the journey for this state:
    say a cart reminded of on a profile that was later merged into this one."""
    began = [profile.messages.entered_by_kind.get(kind), profile.messages.last_by_kind.get(kind)]
    return any(at is not None and at > state_at for at in began)


def cart_trigger(profile: Profile) -> datetime | None:
    """When the open cart was last active: its journey's clock starts there."""
    if profile.cart is None or not profile.cart.lines:
        return None
    return profile.cart.last_activity_at


def cart_due(profile: Profile, settings: ShopSettings) -> tuple[datetime, str] | None:
    """The first step of the cart journey for the open cart, unless it began already."""
    journey = journey_for(CART_RECOVERY, settings)
    trigger = cart_trigger(profile)
    if journey is None or trigger is None or _journey_began(profile, CART_RECOVERY, trigger):
        return None
    entered = profile.messages.entered_by_kind.get(CART_RECOVERY)
    return first_step_due(journey, trigger, entered), iso(trigger)


def browse_trigger(profile: Profile, settings: ShopSettings) -> datetime | None:
    """When someone who looked at products repeatedly, with no cart open, last looked."""
    browsing = profile.browsing
    if browsing is None or browsing.views < settings.browse_min_views:
        return None
    if profile.cart is not None and profile.cart.lines:
        return None  # the cart journey is theirs: never both at once
    return browsing.last_viewed_at


def browse_due(profile: Profile, settings: ShopSettings) -> tuple[datetime, str] | None:
    """The browse-abandonment message for the person's latest views, unless already begun."""
    journey = journey_for(BROWSE_ABANDONMENT, settings)
    trigger = browse_trigger(profile, settings)
    if journey is None or trigger is None or _journey_began(profile, BROWSE_ABANDONMENT, trigger):
        return None
    entered = profile.messages.entered_by_kind.get(BROWSE_ABANDONMENT)
    return first_step_due(journey, trigger, entered), iso(trigger)


# Under the P(alive) rule, a win-back never goes this soon after any activity.
MIN_QUIET_FOR_WINBACK = timedelta(days=7)


def winback_due(reactivate_at: datetime, last_activity_at: datetime) -> datetime:
    """When a P(alive) win-back falls due: when the model says so, and not within a week of
    anything the person did."""
    return max(reactivate_at, last_activity_at + MIN_QUIET_FOR_WINBACK)


def lapsed_at(profile: Profile, settings: ShopSettings) -> datetime | None:
    """When a customer counts as gone quiet: the win-back journey's trigger."""
    if profile.orders.count == 0 or profile.last_activity_at is None:
        return None
    predicted = profile.value.reactivate_at if profile.value else None
    if settings.reactivation_p_alive_below is not None and predicted is not None:
        return winback_due(predicted, profile.last_activity_at)
    return profile.last_activity_at + timedelta(days=settings.reactivation_after_days)


def reactivation_due(profile: Profile, settings: ShopSettings) -> tuple[datetime, str] | None:
    """The first step of the win-back journey for the customer's last activity."""
    journey = journey_for(REACTIVATION, settings)
    trigger = lapsed_at(profile, settings)
    if journey is None or trigger is None or profile.last_activity_at is None:
        return None
    entered = profile.messages.entered_by_kind.get(REACTIVATION)
    return first_step_due(journey, trigger, entered), iso(profile.last_activity_at)


def journey_trigger(kind: str, profile: Profile, settings: ShopSettings) -> datetime | None:
    """The moment a journey's step delays count from, for the profile as it is now."""
    if kind == CART_RECOVERY:
        return cart_trigger(profile)
    if kind == BROWSE_ABANDONMENT:
        return browse_trigger(profile, settings)
    if kind == REACTIVATION:
        return lapsed_at(profile, settings)
    return None


def timer_changes(
    before: Profile | None, after: Profile, settings: ShopSettings
) -> list[TimerChange]:
    changes: list[TimerChange] = []
    for kind, due in ((CART_RECOVERY, cart_due), (BROWSE_ABANDONMENT, browse_due)):
        old = due(before, settings) if before else None
        new = due(after, settings)
        if new is not None and new != old:
            changes.append(TimerChange(kind, *new))
        elif new is None and (old is not None or _trigger_gone(kind, before, after, settings)):
            # Closed (an order, an emptied cart): the pending step goes, whichever it was.
            changes.append(TimerChange(kind, None))

    new_lapse = reactivation_due(after, settings)
    if new_lapse is not None and after.last_activity_at is not None:
        armed = after.reactivation_armed_for
        if armed is None or after.last_activity_at - armed >= REACTIVATION_TIMER_GRANULARITY:
            changes.append(TimerChange(REACTIVATION, *new_lapse))
    return changes


def _trigger_gone(
    kind: str, before: Profile | None, after: Profile, settings: ShopSettings
) -> bool:
    """Whether the state a journey under way was about has just ended."""
    if before is None:
        return False
    was = journey_trigger(kind, before, settings)
    return was is not None and journey_trigger(kind, after, settings) is None


def plan_timers(
    before: Profile | None, after: Profile, settings: ShopSettings
) -> list[TimerChange]:
    """The timer changes for `after`, noting on it the activity the win-back is armed for."""
    changes = timer_changes(before, after, settings)
    if any(change.kind == REACTIVATION and change.due_at for change in changes):
        after.reactivation_armed_for = after.last_activity_at
    return changes


def desired_timers(profile: Profile, settings: ShopSettings) -> list[TimerChange]:
    """Every timer as the profile says it should be (used to repair after a partial run).
    A journey already under way keeps the timer of its current step."""
    changes: list[TimerChange] = []
    for kind, due in ((CART_RECOVERY, cart_due), (BROWSE_ABANDONMENT, browse_due)):
        step = due(profile, settings)
        if step is not None:
            changes.append(TimerChange(kind, *step))
        elif journey_trigger(kind, profile, settings) is None or not journey_for(kind, settings):
            changes.append(TimerChange(kind, None))
    lapse = reactivation_due(profile, settings)
    last = profile.last_activity_at
    if lapse is None:
        changes.append(TimerChange(REACTIVATION, None))
    elif last is None or not _journey_began(profile, REACTIVATION, last):
        changes.append(TimerChange(REACTIVATION, *lapse))
    return changes


def due_day(due_at: datetime, now: datetime) -> date:
    """The due-index partition (a UTC day) a timer goes in. One already due goes in today's,
    never in a day the sweeps may have finished with."""
    return max(due_at, now).date()
