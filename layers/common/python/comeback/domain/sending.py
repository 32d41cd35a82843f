"""Whether, where and what to send for a claimed job: decided again at the moment of sending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from comeback.clock import iso
from comeback.domain.alerts import ALERT_KINDS, still_holds
from comeback.domain.channels import choose_channels
from comeback.domain.frequency import is_transactional
from comeback.domain.quiet_hours import next_allowed
from comeback.domain.timers import CART_RECOVERY, REACTIVATION, reactivation_due
from comeback.models.catalogue import Product
from comeback.models.jobs import MessageJob
from comeback.models.profile import Channel, Profile
from comeback.models.shop import ShopSettings

NO_CONSENT = "no_consent"
CAPPED = "capped"


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
    if job.kind == CART_RECOVERY:
        cart = profile.cart
        if cart is None or not cart.lines:
            return Skip("cart_closed")
        if iso(cart.updated_at) != job.subject:
            return Skip("cart_changed")
        if profile.orders.last_at is not None and profile.orders.last_at >= cart.updated_at:
            return Skip("ordered")
    elif job.kind == REACTIVATION:
        due = reactivation_due(profile, settings)
        if due is None:
            return Skip("not_a_customer")
        due_at, subject = due
        if due_at > now:
            return Rearm(due_at, subject)  # active since the timer was set: not lapsed yet
    elif job.kind in ALERT_KINDS:
        stale = still_holds(job.kind, product, job.subject)
        if stale is not None:
            return Skip(stale)
    else:
        return Skip("unknown_kind")
    choice = choose_channels(profile, job.kind, settings, email_suppressed=email_suppressed)
    if not choice.usable:
        return Skip(choice.reason)
    if not is_transactional(job.kind):
        zone_name = profile.timezone or settings.timezone
        allowed = next_allowed(now, zone_name, settings.quiet_hours_start, settings.quiet_hours_end)
        if allowed > now:
            return Rearm(allowed, job.subject)
    return Send(choice.usable)


def lease_end(now: datetime, lease_seconds: int) -> datetime:
    return now + timedelta(seconds=lease_seconds)
