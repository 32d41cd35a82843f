"""Which profiles are one person, and what their merged profile holds."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from comeback.domain.identity import identifiers_of, resolve
from comeback.domain.merging import absorbable, identifiers_of_profile, merge_profiles, user_ids
from comeback.domain.profiles import new_profile
from comeback.models.events import SegmentMessage
from comeback.models.profile import Cart, CartLine, ConsentDecision, OrderStats

T0 = datetime(2024, 3, 1, 9, tzinfo=UTC)


def profile(pid, user=None, **fields):
    p = new_profile("s", pid, T0)
    p.user_id = user
    for name, value in fields.items():
        setattr(p, name, value)
    return p


def cart(at, *products):
    lines = {p: CartLine(product_id=p, price=Decimal(5), updated_at=at) for p in products}
    return Cart(lines=lines, updated_at=at)


def test_an_anonymous_profile_joins_the_known_one_by_any_identifier():
    known, anonymous = profile("k", "u1"), profile("a")
    assert absorbable(known, anonymous, via={"anon"})
    assert absorbable(known, anonymous, via={"email"})


def test_two_known_people_join_by_email_or_phone_or_alias_never_by_a_device():
    ann, bob = profile("k1", "ann"), profile("k2", "bob")
    assert not absorbable(ann, bob, via={"anon"})  # a shared device
    assert absorbable(ann, bob, via={"email"})
    assert absorbable(ann, bob, via={"phone"})
    assert absorbable(ann, bob, via={"anon"}, explicit=True)
    # The same user on two profiles (an old race) is one person whatever joined them
    assert absorbable(ann, profile("k3", "ann"), via={"anon"})


def test_a_merge_happens_once_and_only_into_a_live_profile():
    winner, loser = profile("w", "u"), profile("l")
    merged = merge_profiles(winner, loser)
    assert merged.merged_from == ["l"]
    assert not absorbable(merged, loser, via={"anon"})  # absorbed already
    # A profile frozen for a merge into `w` that stopped half-way is finished by `w` only
    frozen = profile("f", merged_into="w")
    assert absorbable(winner, frozen, via=set())
    assert not absorbable(profile("x", "u"), frozen, via={"email"})
    # Nothing merges into a profile that has itself merged away
    assert not absorbable(profile("gone", "u", merged_into="w"), loser, via={"anon"})


def test_counters_add_up_and_times_combine():
    a = profile(
        "a",
        "u",
        orders=OrderStats(
            count=2,
            revenue=Decimal(30),
            first_at=T0,
            last_at=T0 + timedelta(days=9),
            recent_ids=["o1", "o2"],
            occasions=2,
            first_day_revenue=Decimal(10),
        ),
        event_count=5,
        first_seen_at=T0,
        last_activity_at=T0 + timedelta(days=9),
    )
    b = profile(
        "b",
        orders=OrderStats(
            count=1,
            revenue=Decimal(7),
            first_at=T0 - timedelta(days=3),
            last_at=T0 - timedelta(days=3),
            recent_ids=["o0"],
            occasions=1,
            first_day_revenue=Decimal(7),
        ),
        event_count=2,
        first_seen_at=T0 - timedelta(days=4),
        last_activity_at=T0 - timedelta(days=3),
        anonymous_ids=["anon-b"],
    )
    merged = merge_profiles(a, b)
    o = merged.orders
    assert (o.count, o.revenue, o.occasions) == (3, Decimal(37), 3)
    assert (o.first_at, o.last_at) == (T0 - timedelta(days=3), T0 + timedelta(days=9))
    assert o.first_day_revenue == Decimal(7) and set(o.recent_ids) == {"o0", "o1", "o2"}
    assert merged.event_count == 7 and merged.first_seen_at == T0 - timedelta(days=4)
    assert merged.last_activity_at == T0 + timedelta(days=9)
    assert merged.user_id == "u" and merged.anonymous_ids == ["anon-b"]
    assert merged.profile_id == "a" and merged.version == a.version


def test_consent_keeps_the_latest_decision_per_channel():
    old, new = T0, T0 + timedelta(hours=1)
    a = profile(
        "a",
        "u",
        consent={
            "email": ConsentDecision(granted=True, at=old, source="identify"),
            "sms": ConsentDecision(granted=True, at=new, source="identify"),
        },
    )
    b = profile(
        "b",
        consent={
            "email": ConsentDecision(granted=False, at=new, source="unsubscribe"),
            "push": ConsentDecision(granted=True, at=old, source="push"),
        },
    )
    merged = merge_profiles(a, b)
    assert {c: d.granted for c, d in merged.consent.items()} == {
        "email": False,
        "sms": True,
        "push": True,
    }


def test_the_latest_open_cart_survives_unless_an_order_closed_it():
    early, late = T0, T0 + timedelta(hours=2)
    a = profile("a", "u", cart=cart(early, "mug"))
    b = profile("b", cart=cart(late, "tea"))
    assert set(merge_profiles(a, b).cart.lines) == {"tea"}
    # The known profile ordered after the anonymous cart changed: that cart is gone
    ordered = profile("a", "u", cart_closed_at=late + timedelta(minutes=5))
    assert merge_profiles(ordered, b).cart is None


def test_a_merged_profile_answers_to_every_user_id_and_identifier():
    ann = profile("k1", "ann", email="ann@example.com", anonymous_ids=["d1"])
    merged = merge_profiles(ann, profile("k2", "ann-old", phone="+4930901820"))
    assert user_ids(merged) == {"ann", "ann-old"}
    assert set(identifiers_of_profile(merged)) == {
        "user:ann",
        "user:ann-old",
        "email:ann@example.com",
        "phone:+4930901820",
        "anon:d1",
    }
    # Resolution finds it by the absorbed user id too
    message = SegmentMessage.model_validate({"type": "track", "userId": "ann-old", "event": "x"})
    chosen = resolve(identifiers_of(message), {"user:ann-old": "k1"}, {"k1": user_ids(merged)})
    assert chosen.profile_id == "k1"


def test_a_loyalty_card_joins_two_known_people_and_a_device_id_does_not():
    ann, bob = profile("k1", "ann"), profile("k2", "bob")
    assert absorbable(ann, bob, via={"loyalty"})
    assert absorbable(ann, bob, via={"ext"})
    assert not absorbable(ann, bob, via={"device", "anon"})
