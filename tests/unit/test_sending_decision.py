"""Whether and where to send, decided again at the moment of sending."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from comeback.clock import iso
from comeback.domain.profiles import new_profile
from comeback.domain.sending import Rearm, Send, Skip, decide
from comeback.domain.timers import CART_RECOVERY, REACTIVATION
from comeback.models.jobs import MessageJob
from comeback.models.profile import Cart, CartLine, ConsentDecision
from comeback.models.shop import ShopSettings

from tests.journeys import SINGLE_REMINDER

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
SETTINGS = ShopSettings(journeys=SINGLE_REMINDER)


def profile(consent=True, cart_at=T0):
    p = new_profile("s", "p", T0)
    p.email = "ann@example.com"
    p.consent["email"] = ConsentDecision(granted=consent, at=T0, source="test")
    if cart_at is not None:
        p.cart = Cart(updated_at=cart_at, lines={"x": CartLine(product_id="x", updated_at=cart_at)})
    return p


CART_SUBJECT = iso(T0)


def job(kind=CART_RECOVERY, subject=CART_SUBJECT):
    return MessageJob(
        shop_id="s", profile_id="p", kind=kind, subject=subject, job_key="k", claimed_at=T0
    )


def test_a_consenting_owner_of_an_open_cart_gets_the_reminder():
    assert decide(profile(), job(), SETTINGS, T0 + timedelta(hours=1)) == Send(("email",))


def test_withdrawn_consent_means_nothing_is_sent():
    assert decide(profile(consent=False), job(), SETTINGS, T0) == Skip("no_consent")


def test_a_cart_changed_since_the_claim_is_not_reminded_of():
    changed = profile(cart_at=T0 + timedelta(minutes=10))
    assert decide(changed, job(), SETTINGS, T0) == Skip("cart_changed")


def test_an_order_after_the_cart_cancels_the_reminder():
    ordered = profile()
    ordered.orders.last_at = T0 + timedelta(minutes=5)
    assert decide(ordered, job(), SETTINGS, T0) == Skip("ordered")


def test_a_customer_active_again_is_not_sent_a_win_back_but_re_armed():
    customer = profile(cart_at=None)
    customer.orders.count, customer.orders.revenue = 1, Decimal(3)
    customer.last_activity_at = T0 + timedelta(days=10)
    decision = decide(customer, job(REACTIVATION, iso(T0)), SETTINGS, T0 + timedelta(days=90))
    assert decision == Rearm(T0 + timedelta(days=100), iso(T0 + timedelta(days=10)))
    lapsed = decide(customer, job(REACTIVATION), SETTINGS, T0 + timedelta(days=101))
    assert lapsed == Send(("email",))


def reachable_everywhere(**consents):
    p = profile()
    p.phone = "+4930901820"
    p.push_endpoints = ["digest"]
    for channel, granted in consents.items():
        p.consent[channel] = ConsentDecision(granted=granted, at=T0, source="test")
    return p


def test_channels_follow_the_shops_order_for_the_kind_keeping_only_consented_ones():
    everyone = reachable_everywhere(push=True, sms=True)
    now = T0 + timedelta(hours=1)
    assert decide(everyone, job(), SETTINGS, now) == Send(("push", "email", "sms"))
    no_push = reachable_everywhere(push=False, sms=True)
    assert decide(no_push, job(), SETTINGS, now) == Send(("email", "sms"))
    custom = ShopSettings(
        channel_order={"cart_recovery": ["sms", "email"]}, journeys=SINGLE_REMINDER
    )
    assert decide(everyone, job(), custom, now) == Send(("sms", "email"))


def test_a_suppressed_address_is_not_a_channel_and_nothing_left_says_why():
    now = T0 + timedelta(hours=1)
    only_email = profile()
    assert decide(only_email, job(), SETTINGS, now, email_suppressed=True) == Skip("suppressed")
    both = reachable_everywhere(sms=True)
    assert decide(both, job(), SETTINGS, now, email_suppressed=True) == Send(("sms",))


def test_consent_without_an_address_is_reported_as_no_address():
    nobody = profile()
    nobody.email = None
    assert decide(nobody, job(), SETTINGS, T0 + timedelta(hours=1)) == Skip("no_address")


def test_a_reminder_due_at_night_waits_for_the_morning_in_the_persons_zone():
    berlin = profile(cart_at=datetime(2024, 5, 1, 20, 30, tzinfo=UTC))  # 22:30 in Berlin
    berlin.timezone = "Europe/Berlin"
    subject = iso(berlin.cart.updated_at)
    due = datetime(2024, 5, 1, 21, 30, tzinfo=UTC)  # 23:30 in Berlin (CEST, UTC+2)
    morning = datetime(2024, 5, 2, 6, 0, tzinfo=UTC)  # 08:00 in Berlin
    assert decide(berlin, job(subject=subject), SETTINGS, due) == Rearm(morning, subject)
    assert decide(berlin, job(subject=subject), SETTINGS, morning) == Send(("email",))
    # The same instant is mid-afternoon in Los Angeles: no waiting there.
    berlin.timezone = "America/Los_Angeles"
    assert decide(berlin, job(subject=subject), SETTINGS, due) == Send(("email",))


def test_without_a_zone_of_their_own_the_shops_zone_counts():
    p = profile(cart_at=datetime(2024, 5, 1, 2, 0, tzinfo=UTC))
    subject = iso(p.cart.updated_at)
    at = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
    assert decide(p, job(subject=subject), SETTINGS, at) == Rearm(
        datetime(2024, 5, 1, 8, 0, tzinfo=UTC), subject
    )
    tokyo = ShopSettings(timezone="Asia/Tokyo", journeys=SINGLE_REMINDER)  # 12:00 there
    assert decide(p, job(subject=subject), tokyo, at) == Send(("email",))
