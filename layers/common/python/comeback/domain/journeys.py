"""Journeys step by step: which step a timer stands for, when the next one falls due, and who
is held out.

A journey runs on the one timer its trigger keeps per person (domain.timers). The timer's
subject names the state the journey is about (the cart's last activity, the customer's last
activity) and the step: the first step's subject is that state alone, a later step's is
`<state>#<step>`. Every step thus has its own job key, so a step is claimed and sent at most
once however many sweeps overlap, and a change of state (a new cart, a return) makes every
pending step of the old journey stale.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from comeback.models.journey import Journey, JourneyStep
from comeback.models.shop import ShopSettings

STEP_SEPARATOR = "#"
HOLDOUT_BUCKETS = 10_000

# Why a step was skipped, as the send records keep it (domain.kpis reads them back).
HOLDOUT = "holdout"  # the person entered and is held out: they get nothing
RETURNED = "returned"
JOURNEY_OFF = "journey_off"
JOURNEY_OVER = "journey_over"
# Skips of a first step that mean the person never entered the journey at all.
NEVER_ENTERED = frozenset(
    {"cart_closed", "cart_changed", "ordered", RETURNED, "profile_gone", "merged"}
    | {"not_a_customer", "unknown_kind", JOURNEY_OFF, JOURNEY_OVER, "shop_gone"}
    | {"cart_open", "browsing_over", "cart_reminded"}
)


@dataclass(frozen=True)
class StepSubject:
    state: str  # what the journey is about: the cart's or the customer's last activity
    step: int

    def __str__(self) -> str:
        return self.state if self.step == 0 else f"{self.state}{STEP_SEPARATOR}{self.step}"


def parse_subject(subject: str) -> StepSubject:
    """The state and step a timer's subject names (a bare state is the first step)."""
    state, separator, step = subject.rpartition(STEP_SEPARATOR)
    if separator and step.isdigit():
        return StepSubject(state, int(step))
    return StepSubject(subject, 0)


def journey_for(kind: str, settings: ShopSettings) -> Journey | None:
    """The shop's journey for a trigger, if it runs one."""
    journey = settings.journeys.get(kind)
    return journey if journey is not None and journey.enabled else None


def step_of(journey: Journey, step: int) -> JourneyStep | None:
    return journey.steps[step] if 0 <= step < len(journey.steps) else None


def first_step_due(journey: Journey, trigger_at: datetime, entered_at: datetime | None) -> datetime:
    """When the first step falls due for a trigger at `trigger_at`: its delay after the
    trigger, and never within the re-entry cooldown of the person's last entry."""
    due = trigger_at + timedelta(minutes=journey.steps[0].delay_minutes)
    if entered_at is not None:
        due = max(due, entered_at + timedelta(days=journey.reentry_cooldown_days))
    return due


def next_step_due(
    journey: Journey, trigger_at: datetime, step: int, handled_at: datetime, *, sent: bool
) -> datetime | None:
    """When the step after `step` falls due (None: the journey is over). Its delay counts
    from the trigger; but after a step that `sent` something, it never comes sooner than the
    journey's own gap between the two: a step held back overnight does not bunch the next
    one up behind it."""
    following = step_of(journey, step + 1)
    current = step_of(journey, step)
    if following is None or current is None:
        return None
    due = trigger_at + timedelta(minutes=following.delay_minutes)
    if not sent:
        return due
    return max(due, handled_at + timedelta(minutes=following.delay_minutes - current.delay_minutes))


def held_out(shop_id: str, person: str, kind: str, percent: float) -> bool:
    """Whether a person is in the journey's holdout group: a stable hash of who they are (the
    shop's user id, else our profile id), so the same person is always in the same group of
    the same journey (and re-entering does not reshuffle them)."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"{shop_id}\x1f{kind}\x1f{person}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % HOLDOUT_BUCKETS
    return bucket < percent / 100 * HOLDOUT_BUCKETS
