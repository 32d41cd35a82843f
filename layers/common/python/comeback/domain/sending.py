"""Whether, where and what to send for a claimed job: decided again at the moment of sending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from comeback.clock import iso
from comeback.domain.timers import CART_RECOVERY, REACTIVATION, reactivation_due
from comeback.models.jobs import MessageJob
from comeback.models.profile import Profile
from comeback.models.shop import ShopSettings

NO_CONSENT = "no_consent"


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Rearm:
    due_at: datetime
    subject: str


@dataclass(frozen=True)
class SendEmail:
    to: str


Decision = Skip | Rearm | SendEmail


def decide(
    profile: Profile | None, job: MessageJob, settings: ShopSettings, now: datetime
) -> Decision:
    if profile is None:
        return Skip("profile_gone")
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
    else:
        return Skip("unknown_kind")
    if not profile.email:
        return Skip("no_address")
    if not profile.has_consent("email"):
        return Skip(NO_CONSENT)
    return SendEmail(to=profile.email)


def lease_end(now: datetime, lease_seconds: int) -> datetime:
    return now + timedelta(seconds=lease_seconds)
