"""Which timers a profile change sets or cancels."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from comeback.clock import iso
from comeback.domain.profiles import new_profile
from comeback.domain.timers import CART_RECOVERY, REACTIVATION, plan_timers
from comeback.models.profile import Cart, CartLine
from comeback.models.shop import ShopSettings

from tests.journeys import SINGLE_REMINDER

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
SETTINGS = ShopSettings(journeys=SINGLE_REMINDER, reactivation_after_days=90)


def with_cart(profile, at):
    profile = profile.model_copy(deep=True)
    profile.cart = Cart(updated_at=at, lines={"p": CartLine(product_id="p", updated_at=at)})
    profile.last_activity_at = at
    return profile


def test_a_changed_cart_sets_its_reminder_after_the_delay():
    before = new_profile("s", "p", T0)
    after = with_cart(before, T0)
    changes = {c.kind: c for c in plan_timers(before, after, SETTINGS)}
    assert changes[CART_RECOVERY].due_at == T0 + timedelta(hours=1)
    assert changes[CART_RECOVERY].subject == iso(T0)


def test_a_closed_cart_cancels_its_reminder():
    before = with_cart(new_profile("s", "p", T0), T0)
    after = before.model_copy(deep=True)
    after.cart = None
    changes = plan_timers(before, after, SETTINGS)
    assert [(c.kind, c.due_at) for c in changes] == [(CART_RECOVERY, None)]


def test_a_customer_gets_a_win_back_timer_moved_at_most_daily():
    before = new_profile("s", "p", T0)
    after = before.model_copy(deep=True)
    after.orders.count, after.orders.revenue, after.last_activity_at = 1, Decimal(5), T0
    first = plan_timers(before, after, SETTINGS)
    assert [(c.kind, c.due_at) for c in first] == [(REACTIVATION, T0 + timedelta(days=90))]
    # Activity two hours later does not rewrite the timer...
    later = after.model_copy(deep=True)
    later.last_activity_at = T0 + timedelta(hours=2)
    assert plan_timers(after, later, SETTINGS) == []
    # ...nor do many small steps that add up to less than a day, but a day does.
    next_day = later.model_copy(deep=True)
    next_day.last_activity_at = T0 + timedelta(days=1, minutes=1)
    assert [c.kind for c in plan_timers(later, next_day, SETTINGS)] == [REACTIVATION]


def test_visitors_who_never_ordered_get_no_win_back():
    before = new_profile("s", "p", T0)
    after = before.model_copy(deep=True)
    after.last_activity_at = T0
    assert plan_timers(before, after, SETTINGS) == []


def test_a_p_alive_win_back_goes_when_the_model_says_not_within_a_week_of_activity():
    from datetime import UTC, datetime, timedelta

    from comeback.domain.profiles import new_profile
    from comeback.domain.timers import reactivation_due
    from comeback.models.profile import OrderStats, ProfileValue
    from comeback.models.shop import ShopSettings

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    profile = new_profile("s", "p", t0)
    profile.orders = OrderStats(count=3, first_at=t0, last_at=t0 + timedelta(days=20))
    profile.last_activity_at = t0 + timedelta(days=20)
    profile.value = ProfileValue(
        scored_at=t0, rfm="444", segment="loyal", reactivate_at=t0 + timedelta(days=50)
    )
    days_rule, p_alive_rule = ShopSettings(), ShopSettings(reactivation_p_alive_below=0.5)
    assert reactivation_due(profile, days_rule)[0] == t0 + timedelta(days=110)
    assert reactivation_due(profile, p_alive_rule)[0] == t0 + timedelta(days=50)
    profile.last_activity_at = t0 + timedelta(days=48)  # browsing just before
    assert reactivation_due(profile, p_alive_rule)[0] == t0 + timedelta(days=55)
    profile.value = None  # not scored yet: the quiet-days rule
    assert reactivation_due(profile, p_alive_rule)[0] == t0 + timedelta(days=138)
