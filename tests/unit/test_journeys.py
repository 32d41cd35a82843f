"""Journeys as data: their validation, their steps' subjects and times, the holdout, and what
the sender decides at each step."""

from datetime import UTC, datetime, timedelta

import pytest
from comeback.clock import iso
from comeback.domain.email_content import render
from comeback.domain.journeys import (
    HOLDOUT,
    NEVER_ENTERED,
    StepSubject,
    first_step_due,
    held_out,
    next_step_due,
    parse_subject,
)
from comeback.domain.profiles import apply_event, new_profile
from comeback.domain.sending import STAY_IN_JOURNEY, Send, Skip, decide
from comeback.domain.timers import (
    BROWSE_ABANDONMENT,
    CART_RECOVERY,
    browse_due,
    cart_due,
    desired_timers,
    plan_timers,
)
from comeback.models.events import SegmentMessage
from comeback.models.jobs import MessageJob
from comeback.models.journey import Journey, JourneyStep, default_cart_journey
from comeback.models.profile import Browsing, Cart, CartLine, ConsentDecision, ViewedProduct
from comeback.models.shop import Shop, ShopSettings
from pydantic import ValidationError

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
NO_HOLDOUT = {"cart_recovery": default_cart_journey().model_copy(update={"holdout_percent": 0})}
SETTINGS = ShopSettings(journeys=NO_HOLDOUT, quiet_hours_start=None, quiet_hours_end=None)


def shopper(profile_id="p", push=False):
    profile = new_profile("s", profile_id, T0)
    profile.email = "ann@example.com"
    profile.consent["email"] = ConsentDecision(granted=True, at=T0, source="test")
    if push:
        profile.consent["push"] = ConsentDecision(granted=True, at=T0, source="test")
        profile.push_endpoints = ["digest"]
    profile.cart = Cart(updated_at=T0, lines={"x": CartLine(product_id="x", updated_at=T0)})
    return profile


def step_job(step, state=None, profile_id="p"):
    subject = str(StepSubject(state or iso(T0), step))
    return MessageJob(
        shop_id="s",
        profile_id=profile_id,
        kind=CART_RECOVERY,
        subject=subject,
        job_key=f"k{step}",
        claimed_at=T0,
    )


def test_a_first_steps_subject_is_the_bare_state_and_later_ones_carry_their_number():
    assert str(StepSubject("2024-05-01T09:00:00.000Z", 0)) == "2024-05-01T09:00:00.000Z"
    assert parse_subject("2024-05-01T09:00:00.000Z#2") == StepSubject("2024-05-01T09:00:00.000Z", 2)
    assert parse_subject("2024-05-01T09:00:00.000Z") == StepSubject("2024-05-01T09:00:00.000Z", 0)


def test_the_shipped_cart_journey_is_push_then_email_then_a_last_email():
    journey = ShopSettings().journeys["cart_recovery"]
    assert [s.delay_minutes for s in journey.steps] == [30, 240, 1440]
    assert journey.steps[0].channels == ["push"] and journey.steps[1].channels[0] == "email"
    assert journey.reentry_cooldown_days == 7 and journey.holdout_percent == 10


def test_bad_journeys_are_refused_with_the_reason():
    with pytest.raises(ValidationError, match="in order of delay_minutes"):
        Journey(steps=[JourneyStep(delay_minutes=60), JourneyStep(delay_minutes=30)])
    with pytest.raises(ValidationError, match="'email', 'sms' or 'push'"):
        JourneyStep(delay_minutes=5, channels=["fax"])
    with pytest.raises(ValidationError, match="at most once"):
        JourneyStep(delay_minutes=5, channels=["email", "email"])
    with pytest.raises(ValidationError, match="no trigger named"):
        ShopSettings(journeys={"birthday": {"steps": [{"delay_minutes": 0}]}})
    with pytest.raises(ValidationError):
        Journey(steps=[])


def test_a_shops_journey_replaces_the_default_for_its_trigger_only():
    custom = ShopSettings(journeys={"cart_recovery": {"steps": [{"delay_minutes": 90}]}})
    assert [s.delay_minutes for s in custom.journeys["cart_recovery"].steps] == [90]
    assert custom.journeys["reactivation"] == ShopSettings().journeys["reactivation"]


def test_the_next_step_keeps_its_time_and_its_gap_after_a_late_send():
    journey = default_cart_journey()
    # On time: four hours after the cart went quiet.
    on_time = next_step_due(journey, T0, 0, T0 + timedelta(minutes=30), sent=True)
    assert on_time == T0 + timedelta(hours=4)
    # The push went at 8:00 the next morning (quiet hours): the email waits 3.5 hours more.
    late = T0 + timedelta(hours=23)
    assert next_step_due(journey, T0, 0, late, sent=True) == late + timedelta(hours=3, minutes=30)
    # Nothing went (no browser): the email keeps its own time.
    assert next_step_due(journey, T0, 0, late, sent=False) == T0 + timedelta(hours=4)
    assert next_step_due(journey, T0, 2, late, sent=True) is None


def test_re_entry_waits_for_the_cooldown_after_the_last_entry():
    journey = default_cart_journey()
    assert first_step_due(journey, T0, None) == T0 + timedelta(minutes=30)
    entered = T0 - timedelta(days=2)
    assert first_step_due(journey, T0, entered) == entered + timedelta(days=7)


def test_the_holdout_is_a_stable_tenth_of_people_and_none_at_zero():
    ids = [f"profile-{n}" for n in range(5000)]
    held = [i for i in ids if held_out("s", i, CART_RECOVERY, 10)]
    assert 0.085 < len(held) / len(ids) < 0.115
    assert held == [i for i in ids if held_out("s", i, CART_RECOVERY, 10)]
    assert not any(held_out("s", i, CART_RECOVERY, 0) for i in ids)
    # Another journey draws its own group.
    assert held != [i for i in ids if held_out("s", i, "reactivation", 10)]


def test_each_step_goes_by_its_own_channels():
    person = shopper(push=True)
    assert decide(person, step_job(0), SETTINGS, T0 + timedelta(minutes=31)) == Send(("push",))
    assert decide(person, step_job(1), SETTINGS, T0 + timedelta(hours=4)) == Send(("email",))


def test_a_first_step_without_its_channel_is_skipped_but_the_journey_goes_on():
    decision = decide(shopper(push=False), step_job(0), SETTINGS, T0 + timedelta(minutes=31))
    assert decision == Skip("no_consent") and decision.reason in STAY_IN_JOURNEY


def test_an_order_a_return_or_an_emptied_cart_ends_the_journey():
    now = T0 + timedelta(hours=4)
    ordered = shopper()
    ordered.orders.last_at = T0 + timedelta(hours=1)
    returned = shopper()
    returned.cart.returned_at = T0 + timedelta(hours=2)
    emptied = shopper()
    emptied.cart = None
    changed = shopper()
    changed.cart.updated_at = T0 + timedelta(hours=1)
    outcomes = [
        decide(p, step_job(1), SETTINGS, now) for p in (ordered, returned, emptied, changed)
    ]
    assert outcomes == [
        Skip("ordered"),
        Skip("returned"),
        Skip("cart_closed"),
        Skip("cart_changed"),
    ]
    assert all(o.reason in NEVER_ENTERED for o in outcomes)


def test_a_held_out_person_gets_nothing_from_the_first_step():
    settings = ShopSettings(quiet_hours_start=None, quiet_hours_end=None)  # 10% held out
    ids = [f"p{n}" for n in range(200)]
    held = next(i for i in ids if held_out("s", i, CART_RECOVERY, 10))
    treated = next(i for i in ids if not held_out("s", i, CART_RECOVERY, 10))
    now = T0 + timedelta(hours=4)
    job = step_job(0, profile_id=held)
    assert decide(shopper(held, push=True), job, settings, now) == Skip(HOLDOUT)
    assert HOLDOUT not in NEVER_ENTERED  # held out is entered: the comparison group
    treated_job = step_job(0, profile_id=treated)
    assert decide(shopper(treated, push=True), treated_job, settings, now) == Send(("push",))


def test_a_cart_whose_journey_began_sets_no_new_first_step_and_repair_keeps_its_timer():
    before = new_profile("s", "p", T0)
    after = shopper()
    [change] = [c for c in plan_timers(before, after, SETTINGS) if c.kind == CART_RECOVERY]
    assert change.due_at == T0 + timedelta(minutes=30) and change.subject == iso(T0)
    entered = after.model_copy(deep=True)
    entered.messages.entered_by_kind[CART_RECOVERY] = T0 + timedelta(minutes=31)
    assert cart_due(entered, SETTINGS) is None
    # Repairing a half-applied event must not restart (or cancel) a journey under way.
    assert CART_RECOVERY not in {c.kind for c in desired_timers(entered, SETTINGS)}
    # A return to the cart two hours later starts one anew, after the cooldown.
    entered.cart.returned_at = T0 + timedelta(hours=2)
    due, subject = cart_due(entered, SETTINGS)
    assert subject == iso(T0 + timedelta(hours=2))
    assert due == T0 + timedelta(minutes=31) + timedelta(days=7)


def browser(views=3, cart=False):
    profile = shopper()
    profile.cart = None
    if cart:
        profile.cart = Cart(updated_at=T0, lines={"x": CartLine(product_id="x", updated_at=T0)})
    profile.browsing = Browsing(
        views=views,
        last_viewed_at=T0,
        products=[ViewedProduct(product_id="b", name="<b>Boots</b>")],
    )
    return profile


def browse_job(state=None):
    return MessageJob(
        shop_id="s",
        profile_id="p",
        kind=BROWSE_ABANDONMENT,
        subject=state or iso(T0),
        job_key="b0",
        claimed_at=T0,
    )


def test_repeated_views_without_a_cart_start_browse_abandonment_and_fewer_do_not():
    settings = ShopSettings()
    due, subject = browse_due(browser(), settings)
    assert (due, subject) == (T0 + timedelta(hours=2), iso(T0))
    assert browse_due(browser(views=2), settings) is None
    # With a cart open the cart journey is theirs: never both at once.
    assert browse_due(browser(cart=True), settings) is None


def test_a_cart_more_views_or_a_recent_cart_reminder_end_browse_abandonment():
    now = T0 + timedelta(hours=2)
    assert decide(browser(), browse_job(), SETTINGS, now) == Send(("email",))
    assert decide(browser(cart=True), browse_job(), SETTINGS, now) == Skip("cart_open")
    later = browser()
    later.browsing.last_viewed_at = T0 + timedelta(minutes=30)
    assert decide(later, browse_job(), SETTINGS, now) == Skip("returned")
    reminded = browser()
    reminded.messages.last_by_kind[CART_RECOVERY] = now - timedelta(hours=3)
    assert decide(reminded, browse_job(), SETTINGS, now) == Skip("cart_reminded")


def test_the_browse_email_names_the_products_escaped_and_links_only_to_the_shop():
    shop = Shop(
        shop_id="s",
        name="Shoe Shop",
        created_at=T0,
        settings=ShopSettings(site_url="https://shoes.example.com"),
    )
    content = render(
        BROWSE_ABANDONMENT,
        browser(),
        shop,
        "https://api.example.com/v1/unsubscribe?t=x",
        track=lambda url: f"https://api.example.com/v1/click?to={url}",
    )
    assert content.subject == "Still thinking about <b>Boots</b>?"
    assert "&lt;b&gt;Boots&lt;/b&gt;" in content.html and "<b>Boots" not in content.html
    assert 'href="https://api.example.com/v1/click?to=https://shoes.example.com"' in content.html


def test_a_win_back_names_the_category_last_viewed_and_a_bad_category_is_ignored():
    profile = new_profile("s", "p", T0)
    message = {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "a",
        "properties": {"product_id": "b", "category": "Hiking <gear>"},
    }
    viewed = apply_event(profile, SegmentMessage.model_validate(message), T0, [], SETTINGS, T0)
    assert viewed.last_viewed_category == "Hiking <gear>"
    odd = {**message, "properties": {"product_id": "b", "category": 42}}
    kept = apply_event(viewed, SegmentMessage.model_validate(odd), T0, [], SETTINGS, T0)
    assert kept.last_viewed_category == "Hiking <gear>" and kept.browsing.views == 2
    shop = Shop(shop_id="s", name="Trail Shop", created_at=T0, settings=ShopSettings())
    content = render("reactivation", kept, shop, "https://api.example.com/u")
    assert "what is new in Hiking &lt;gear&gt;." in content.html


def test_an_order_mid_journey_cancels_the_pending_step_and_a_queued_one_says_ordered():
    begun = shopper()
    begun.messages.entered_by_kind[CART_RECOVERY] = T0 + timedelta(minutes=31)
    ordered = begun.model_copy(deep=True)
    ordered.cart = None
    ordered.orders.last_at = T0 + timedelta(hours=2)
    changes = [c for c in plan_timers(begun, ordered, SETTINGS) if c.kind == CART_RECOVERY]
    assert [(c.kind, c.due_at) for c in changes] == [(CART_RECOVERY, None)]
    # A step a sweep claimed just before the order is skipped as ordered, not as emptied.
    decision = decide(ordered, step_job(1), SETTINGS, T0 + timedelta(hours=4))
    assert decision == Skip("ordered")
    emptied = begun.model_copy(deep=True)
    emptied.cart = None
    assert decide(emptied, step_job(1), SETTINGS, T0 + timedelta(hours=4)) == Skip("cart_closed")


def test_the_holdout_follows_the_shops_user_id_when_there_is_one():
    ids = [f"user-{n}" for n in range(300)]
    held = next(i for i in ids if held_out("s", i, CART_RECOVERY, 10))
    person = shopper(profile_id="any-profile-id", push=True)
    person.user_id = held
    settings = ShopSettings(quiet_hours_start=None, quiet_hours_end=None)
    job = step_job(0, profile_id="any-profile-id")
    assert decide(person, job, settings, T0 + timedelta(hours=1)) == Skip(HOLDOUT)


def test_views_from_before_the_last_order_start_no_browsing_and_names_are_one_line():
    profile = new_profile("s", "p", T0)
    profile.orders.last_at = T0 + timedelta(hours=1)
    late = {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "a",
        "properties": {"product_id": "b", "name": "Boots\r\nBcc: x@example.com"},
    }
    message = SegmentMessage.model_validate(late)
    stale = apply_event(profile, message, T0 + timedelta(minutes=50), [], SETTINGS, T0)
    assert stale.browsing is None  # flushed late, from before the order: no browsing
    fresh = apply_event(profile, message, T0 + timedelta(hours=2), [], SETTINGS, T0)
    assert fresh.browsing.products[0].name == "Boots Bcc: x@example.com"


def test_header_bound_settings_are_one_line_and_the_cap_fits_what_is_remembered():
    for field in ("from_name", "sms_sender_name", "postal_address"):
        with pytest.raises(ValidationError, match="one line"):
            ShopSettings(**{field: "Shop\nBcc: x"})
    with pytest.raises(ValidationError):
        ShopSettings(cap_messages=21)  # only the last 20 sends are remembered


def test_an_sms_link_too_long_for_two_segments_is_left_out_not_fatal():
    from comeback.services.sending import sms_text

    shop = Shop(shop_id="s", name="Shop", created_at=T0, settings=ShopSettings())
    long_link = "https://shop.example.com/" + "a" * 320
    text = sms_text("Your cart is waiting.", long_link, shop)
    assert long_link not in text and text.endswith("Reply STOP to opt out")
    short = sms_text("Your cart is waiting.", "https://shop.example.com/c", shop)
    assert "https://shop.example.com/c" in short
