"""A journey as data: what starts it, its steps (when, by which channels, with what offer),
when a person may enter it again, and the share held out to measure its effect.

Shops change journeys through their settings (the shop API, `comeback shop`, or the stack's
config file); the defaults below ship. What ends a journey is fixed per trigger and written
in domain.journeys: an abandoned cart ends on any order, a return to the cart or an emptied
cart; browse abandonment ends with a cart, an order or more browsing; a win-back ends on
any activity.
"""

from __future__ import annotations

from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from comeback.models.profile import Channel

MAX_STEPS = 5
MINUTES_PER_DAY = 24 * 60


class Incentive(BaseModel):
    """An offer a step carries, shown as written: "10% off your order", "Free delivery"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=1, max_length=120)
    # A discount code the shop's checkout accepts, printed in the message.
    code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]{1,40}$")


class JourneyStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Minutes after the trigger: the cart's last activity, or the moment a customer lapsed.
    delay_minutes: int = Field(ge=0, le=MINUTES_PER_DAY * 365)
    # The channels to try, in order; None: the shop's `channel_order` for the journey.
    channels: list[Channel] | None = None
    incentive: Incentive | None = None

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if not value or len(set(value)) != len(value):
            raise ValueError("list each channel at most once, and at least one")
        return value


class Journey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    steps: list[JourneyStep] = Field(min_length=1, max_length=MAX_STEPS)
    # A person who entered the journey does not enter it again for this long.
    reentry_cooldown_days: int = Field(default=7, ge=0, le=365)
    # The share of people entering who are held out (get nothing), to measure the effect.
    holdout_percent: float = Field(default=10, ge=0, le=50)

    @model_validator(mode="after")
    def _steps_in_order(self) -> Journey:
        delays = [step.delay_minutes for step in self.steps]
        if any(later <= earlier for earlier, later in pairwise(delays)):
            raise ValueError("steps must come in order of delay_minutes, each later than the last")
        return self


def default_cart_journey() -> Journey:
    """Push after half an hour, an email with a link back to the cart at four hours, a last
    email at a day. Push-only first: people without a browser subscription hear first by
    email at four hours, not twice by email within hours. The last step carries no offer
    until the shop sets one: an offer the shop never agreed to is a promise it cannot keep."""
    return Journey(
        steps=[
            JourneyStep(delay_minutes=30, channels=["push"]),
            JourneyStep(delay_minutes=4 * 60, channels=["email", "sms"]),
            JourneyStep(delay_minutes=MINUTES_PER_DAY, channels=["email", "push", "sms"]),
        ]
    )


def default_browse_journey() -> Journey:
    """One message, two hours after someone who looked at products repeatedly went quiet
    without a cart; not again within a fortnight (browsing is common: more would nag)."""
    return Journey(
        steps=[JourneyStep(delay_minutes=2 * 60, channels=["email", "push"])],
        reentry_cooldown_days=14,
    )


def default_winback_journey() -> Journey:
    """A win-back when the customer lapses and one reminder a fortnight later."""
    return Journey(
        steps=[
            JourneyStep(delay_minutes=0),
            JourneyStep(delay_minutes=14 * MINUTES_PER_DAY),
        ],
        reentry_cooldown_days=30,
    )
