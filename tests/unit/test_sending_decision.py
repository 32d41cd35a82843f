"""Whether and where to send, decided again at the moment of sending."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from comeback.clock import iso
from comeback.domain.profiles import new_profile
from comeback.domain.sending import Rearm, SendEmail, Skip, decide
from comeback.domain.timers import CART_RECOVERY, REACTIVATION
from comeback.models.jobs import MessageJob
from comeback.models.profile import Cart, CartLine, ConsentDecision
from comeback.models.shop import ShopSettings

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
SETTINGS = ShopSettings()


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
    assert decide(profile(), job(), SETTINGS, T0 + timedelta(hours=1)) == SendEmail(
        "ann@example.com"
    )


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
    assert lapsed == SendEmail("ann@example.com")
