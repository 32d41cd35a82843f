"""Whether, where and what to send for a claimed job: decided again at the moment of sending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from comeback.clock import iso
from comeback.domain.alerts import ALERT_KINDS, still_holds
from comeback.domain.channels import choose_channels
from comeback.domain.frequency import is_transactional
from comeback.domain.journeys import (
    HOLDOUT,
    JOURNEY_OFF,
    JOURNEY_OVER,
    RETURNED,
    held_out,
    journey_for,
    parse_subject,
    step_of,
)
from comeback.domain.order_status import ORDER_STATUS
from comeback.domain.quiet_hours import next_allowed
from comeback.domain.timers import (
    BROWSE_ABANDONMENT,
    CART_RECOVERY,
    REACTIVATION,
    browse_trigger,
    reactivation_due,
)
from comeback.models.catalogue import Product
from comeback.models.jobs import MessageJob
from comeback.models.journey import JourneyStep
from comeback.models.profile import Channel, Profile
from comeback.models.shop import ShopSettings

NO_CONSENT = "no_consent"
CAPPED = "capped"
JOURNEY_KINDS = (CART_RECOVERY, BROWSE_ABANDONMENT, REACTIVATION)
# A cart reminder this recent rules out a browse-abandonment message: never both at once.
CART_FIRST = timedelta(hours=24)
# Skips after which the person is still in the journey: its next step may reach them (by
# another channel, or once the cap frees). Any other skip ends the journey.
STAY_IN_JOURNEY = frozenset({NO_CONSENT, "no_address", "suppressed", CAPPED})


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Rearm:
    due_at: datetime
    subject: str


@dataclass(frozen=True)
class Send:
    channels: tuple[Channel, ...]  # to try in this order, each only if the one before failed


Decision = Skip | Rearm | Send


def decide(
    profile: Profile | None,
    job: MessageJob,
    settings: ShopSettings,
    now: datetime,
    *,
    email_suppressed: bool = False,
    product: Product | None = None,
) -> Decision:
    """Whether the job still makes sense now, and by which channels. Quiet hours hold a
    marketing message back until the morning in the person's zone (the timer is re-armed).
    A product alert needs the `product` as the catalogue has it now."""
    if profile is None:
        return Skip("profile_gone")
    if profile.merged_into is not None:
        return Skip("merged")  # the person's messages now go by the profile it merged into
    order: list[Channel] | None = None
    if job.kind in JOURNEY_KINDS:
        outcome = _journey_state(profile, job, settings, now)
        if not isinstance(outcome, JourneyStep):
            return outcome
        order = outcome.channels
    elif job.kind in ALERT_KINDS:
        stale = still_holds(job.kind, product, job.subject)
        if stale is not None:
            return Skip(stale)
    elif job.kind == ORDER_STATUS:
        if not settings.order_status_messages.enabled:
            return Skip(JOURNEY_OFF)
        order = settings.order_status_messages.channels
    else:
        return Skip("unknown_kind")
    choice = choose_channels(
        profile,
        job.kind,
        settings,
        email_suppressed=email_suppressed,
        order=order,
        transactional=is_transactional(job.kind),
    )
    if not choice.usable:
        return Skip(choice.reason)
    if not is_transactional(job.kind):
        zone_name = profile.timezone or settings.timezone
        allowed = next_allowed(now, zone_name, settings.quiet_hours_start, settings.quiet_hours_end)
        if allowed > now:
            return Rearm(allowed, job.subject)
    return Send(choice.usable)


def _journey_state(
    profile: Profile, job: MessageJob, settings: ShopSettings, now: datetime
) -> JourneyStep | Skip | Rearm:
    """The step to send, or why the journey ended (or waits) before it."""
    subject = parse_subject(job.subject)
    journey = journey_for(job.kind, settings)
    if journey is None:
        return Skip(JOURNEY_OFF)
    step = step_of(journey, subject.step)
    if step is None:
        return Skip(JOURNEY_OVER)  # the shop shortened the journey since
    if job.kind == CART_RECOVERY:
        ended = _cart_journey_ended(profile, subject.state)
        if ended is not None:
            return ended
    elif job.kind == BROWSE_ABANDONMENT:
        ended = _browsing_ended(profile, settings, subject.state, now)
        if ended is not None:
            return ended
    else:
        due = reactivation_due(profile, settings)
        if due is None:
            return Skip("not_a_customer")
        due_at, state = due
        if subject.step == 0 and due_at > now:
            return Rearm(due_at, state)  # active since the timer was set: not lapsed yet
        if subject.step > 0 and state != subject.state:
            # Active since the journey began: it ends, and starts over if they lapse again.
            return Rearm(max(due_at, now), state)
    if subject.step == 0 and held_out(
        profile.shop_id, profile.user_id or profile.profile_id, job.kind, journey.holdout_percent
    ):
        return Skip(HOLDOUT)
    return step


def _cart_journey_ended(profile: Profile, state: str) -> Skip | None:
    """Any order, a return to the cart or a change to it, or an emptied cart ends the
    journey of the cart as it was."""
    cart = profile.cart
    if cart is None or not cart.lines:
        ordered = profile.orders.last_at is not None and iso(profile.orders.last_at) >= state
        return Skip("ordered" if ordered else "cart_closed")
    if iso(cart.last_activity_at) != state:
        returned = cart.returned_at is not None and cart.returned_at >= cart.updated_at
        return Skip(RETURNED if returned else "cart_changed")
    if profile.orders.last_at is not None and profile.orders.last_at >= cart.updated_at:
        return Skip("ordered")
    return None


def _browsing_ended(
    profile: Profile, settings: ShopSettings, state: str, now: datetime
) -> Skip | None:
    """A cart, an order or more browsing ends a browse-abandonment journey; so does a cart
    reminder sent lately (the cart journey comes first, and never both at once)."""
    if profile.cart is not None and profile.cart.lines:
        return Skip("cart_open")
    trigger = browse_trigger(profile, settings)
    if trigger is None:
        return Skip("browsing_over")  # an order or a cart since
    if iso(trigger) != state:
        return Skip(RETURNED)
    reminded = profile.messages.last_by_kind.get(CART_RECOVERY)
    if reminded is not None and now - reminded < CART_FIRST:
        return Skip("cart_reminded")
    return None


def lease_end(now: datetime, lease_seconds: int) -> datetime:
    return now + timedelta(seconds=lease_seconds)
