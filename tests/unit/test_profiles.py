"""Profile arithmetic: orders, carts and consent from Segment e-commerce events."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from comeback.domain.identity import identifiers_of
from comeback.domain.profiles import apply_event, new_profile
from comeback.models.events import SegmentMessage
from comeback.models.shop import ShopSettings

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
SETTINGS = ShopSettings()


def track(event, properties=None, **fields):
    return SegmentMessage.model_validate(
        {"type": "track", "userId": "u1", "event": event, "properties": properties or {}, **fields}
    )


def apply(profile, message, at):
    return apply_event(profile, message, at, identifiers_of(message), SETTINGS, at)


def fresh():
    return new_profile("shop", "p1", T0)


def test_orders_add_up_exactly_and_give_the_average():
    profile = fresh()
    for minutes, total in ((0, "10.10"), (5, "20.20"), (1, "0.01")):
        profile = apply(
            profile,
            track("Order Completed", {"total": Decimal(total)}),
            T0 + timedelta(minutes=minutes),
        )
    assert profile.orders.count == 3
    assert profile.orders.revenue == Decimal("30.31")
    assert profile.orders.average_value == Decimal("10.10")
    assert profile.orders.first_at == T0
    assert profile.orders.last_at == T0 + timedelta(minutes=5)


def test_the_same_order_id_counts_once():
    profile = fresh()
    for _ in range(2):
        profile = apply(profile, track("Order Completed", {"order_id": "o-1", "total": 5}), T0)
    assert profile.orders.count == 1


def test_cart_lines_follow_added_and_removed():
    profile = apply(
        fresh(), track("Product Added", {"product_id": "p", "price": 4.5, "quantity": 2}), T0
    )
    assert profile.cart.value == Decimal("9.0")
    profile = apply(
        profile,
        track("Product Removed", {"product_id": "p", "quantity": 1}),
        T0 + timedelta(minutes=1),
    )
    assert profile.cart.lines["p"].quantity == 1
    profile = apply(
        profile, track("Product Removed", {"product_id": "p"}), T0 + timedelta(minutes=2)
    )
    assert profile.cart is None


def test_a_late_arriving_older_event_does_not_undo_a_newer_one():
    # Given p added at 9:00, q added at 9:03 and p removed at 9:05
    profile = apply(fresh(), track("Product Added", {"product_id": "p"}), T0)
    profile = apply(profile, track("Product Added", {"product_id": "q"}), T0 + timedelta(minutes=3))
    profile = apply(
        profile, track("Product Removed", {"product_id": "p"}), T0 + timedelta(minutes=5)
    )
    # When a retried copy of an add of p from 9:01 arrives late
    late = apply(profile, track("Product Added", {"product_id": "p"}), T0 + timedelta(minutes=1))
    # Then p stays removed; an add of another product from 9:04 still counts
    assert set(late.cart.lines) == {"q"}
    other = apply(late, track("Product Added", {"product_id": "r"}), T0 + timedelta(minutes=4))
    assert set(other.cart.lines) == {"q", "r"}


def test_an_emptied_cart_ignores_older_adds_arriving_late():
    profile = apply(fresh(), track("Product Added", {"product_id": "p"}), T0)
    profile = apply(
        profile, track("Product Removed", {"product_id": "p"}), T0 + timedelta(minutes=5)
    )
    assert profile.cart is None
    late = apply(profile, track("Product Added", {"product_id": "q"}), T0 + timedelta(minutes=1))
    assert late.cart is None


def test_an_order_closes_the_cart_and_older_cart_events_are_ignored():
    profile = apply(fresh(), track("Product Added", {"product_id": "p"}), T0)
    profile = apply(profile, track("Order Completed", {"total": 3}), T0 + timedelta(hours=1))
    assert profile.cart is None
    stale = apply(
        profile,
        track("Cart Viewed", {"products": [{"product_id": "p"}]}),
        T0 + timedelta(minutes=30),
    )
    assert stale.cart is None
    newer = apply(profile, track("Product Added", {"product_id": "r"}), T0 + timedelta(hours=2))
    assert set(newer.cart.lines) == {"r"}


def test_checkout_started_replaces_the_lines_and_marks_the_cart():
    profile = apply(fresh(), track("Product Added", {"product_id": "p"}), T0)
    profile = apply(
        profile,
        track("Checkout Started", {"products": [{"product_id": "x", "price": 2, "quantity": 3}]}),
        T0 + timedelta(minutes=1),
    )
    assert set(profile.cart.lines) == {"x"}
    assert profile.cart.checkout_started_at == T0 + timedelta(minutes=1)


def test_consent_from_traits_and_events_keeps_the_latest_decision():
    identify = SegmentMessage.model_validate(
        {
            "type": "identify",
            "userId": "u1",
            "traits": {"email": " Ann@Example.com ", "email_consent": True},
        }
    )
    profile = apply(fresh(), identify, T0)
    assert profile.email == "ann@example.com"
    assert profile.has_consent("email")
    profile = apply(
        profile,
        track("Consent Updated", {"channel": "email", "granted": False}),
        T0 + timedelta(days=1),
    )
    assert not profile.has_consent("email")
    # An older grant arriving late does not override the newer withdrawal
    profile = apply(profile, identify, T0 + timedelta(hours=1))
    assert not profile.has_consent("email")


def test_profiles_stay_bounded_whatever_the_history():
    profile = fresh()
    for i in range(300):
        message = SegmentMessage.model_validate(
            {
                "type": "identify",
                "userId": "u1",
                "anonymousId": f"a{i}",
                "traits": {f"trait{i}": "x" * 50},
            }
        )
        profile = apply(profile, message, T0 + timedelta(seconds=i))
        profile = apply(
            profile,
            track("Order Completed", {"order_id": f"o{i}", "total": 1}),
            T0 + timedelta(seconds=i),
        )
        profile = apply(
            profile,
            track("Product Added", {"product_id": f"p{i}"}),
            T0 + timedelta(seconds=i, milliseconds=1),
        )
    assert len(profile.anonymous_ids) <= 10
    assert len(profile.traits) <= 50
    assert len(profile.orders.recent_ids) <= 20
    assert len(profile.model_dump_json()) < 40_000


def test_viewing_the_same_cart_again_is_not_a_change():
    profile = apply(fresh(), track("Product Added", {"product_id": "p", "quantity": 2}), T0)
    for minutes, event in ((30, "Cart Viewed"), (40, "Checkout Started")):
        again = apply(
            profile,
            track(event, {"products": [{"product_id": "p", "quantity": 2}]}),
            T0 + timedelta(minutes=minutes),
        )
        assert again.cart.updated_at == T0  # so no second reminder is set
    assert again.cart.checkout_started_at == T0 + timedelta(minutes=40)
    changed = apply(
        profile,
        track("Cart Viewed", {"products": [{"product_id": "p", "quantity": 3}]}),
        T0 + timedelta(minutes=50),
    )
    assert changed.cart.updated_at == T0 + timedelta(minutes=50)


def test_a_removal_that_overtakes_its_add_still_wins():
    # Given the removal of 9:05 arrives before the add of 9:01
    profile = apply(
        fresh(), track("Product Removed", {"product_id": "p"}), T0 + timedelta(minutes=5)
    )
    assert profile.cart is None or not profile.cart.lines
    profile = apply(profile, track("Product Added", {"product_id": "p"}), T0 + timedelta(minutes=1))
    # Then the cart stays empty, and an unrelated add still counts
    assert not profile.cart.lines
    profile = apply(profile, track("Product Added", {"product_id": "q"}), T0 + timedelta(minutes=2))
    assert set(profile.cart.lines) == {"q"}
