"""Journeys for tests of the rules around one message (consent, channels, caps, quiet hours,
exactly-once): a single reminder per trigger, no holdout and no re-entry cooldown, so that a
test of those rules sees one message where it expects one. Tests of journeys themselves use
the shipped defaults.
"""

from comeback.models.journey import Journey, JourneyStep

SINGLE_REMINDER = {
    "cart_recovery": Journey(
        steps=[JourneyStep(delay_minutes=60)], holdout_percent=0, reentry_cooldown_days=0
    ),
    # Off: a test of other rules whose shopper views products gets no extra message.
    "browse_abandonment": Journey(enabled=False, steps=[JourneyStep(delay_minutes=120)]),
    "reactivation": Journey(
        steps=[JourneyStep(delay_minutes=0)], holdout_percent=0, reentry_cooldown_days=0
    ),
}
