"""Which on-site message a visitor gets: a cart reminder for an open cart, a sign-up offer for a
regular visitor without an email, within the daily limit, and never anything personal."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from comeback.domain import onsite
from comeback.domain.profiles import apply_event, new_profile
from comeback.models.events import SegmentMessage
from comeback.models.profile import MAX_RECENT_ONSITE, Cart, CartLine, Profile
from comeback.models.shop import ShopSettings

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = ShopSettings(
    site_url="https://shop.example.com/", signup_url="https://shop.example.com/join"
)


def with_cart(
    profile: Profile, at: datetime = NOW - timedelta(hours=1), quantity: int = 2
) -> Profile:
    line = CartLine(
        product_id="sku-1",
        name="Secret gift",
        price=Decimal("9.50"),
        quantity=quantity,
        updated_at=at,
    )
    profile.cart = Cart(lines={"sku-1": line}, updated_at=at)
    return profile


def visitor(**changes) -> Profile:
    profile = new_profile("shop-1", "p-1", NOW - timedelta(days=3))
    return profile.model_copy(update=changes)


def shown(profile: Profile, kind: str, at: datetime) -> Profile:
    onsite.note_message_event(profile, onsite.ONSITE_SHOWN, {"kind": kind}, at)
    return profile


def test_an_open_cart_gets_a_reminder_on_exit_intent_with_counts_only():
    # Given a visitor with two items in the cart and an email on file
    profile = with_cart(visitor(email="ann@example.com", user_id="u-42"))

    # When the snippet asks
    message = onsite.decide(profile, SETTINGS, NOW)

    # Then a cart reminder on exit intent, pointing at the cart, naming nothing personal
    assert message is not None
    assert (message.kind, message.trigger) == ("cart_reminder", "exit_intent")
    assert "2 items" in message.body and message.cta_url == "https://shop.example.com/cart"
    text = json.dumps(message.as_dict())
    for personal in ("ann@example.com", "u-42", "p-1", "Secret gift", "sku-1"):
        assert personal not in text


def test_nothing_for_unknown_visitors_when_turned_off_or_after_the_daily_limit():
    profile = with_cart(visitor())
    assert onsite.decide(None, SETTINGS, NOW) is None
    assert (
        onsite.decide(profile, SETTINGS.model_copy(update={"onsite_messages": False}), NOW) is None
    )
    assert onsite.decide(visitor(), SETTINGS, NOW) is None  # no cart, few page views

    # One a day by default: a reminder shown this morning blocks any other message today
    shown(profile, "signup_offer", NOW - timedelta(hours=3))
    assert onsite.decide(profile, SETTINGS, NOW) is None
    assert onsite.decide(profile, SETTINGS, NOW + timedelta(hours=21)) is not None
    more = SETTINGS.model_copy(update={"onsite_max_per_day": 2})
    assert onsite.decide(profile, more, NOW) is not None


def test_a_cart_reminder_is_shown_once_per_cart_as_it_stands():
    profile = shown(with_cart(visitor()), "cart_reminder", NOW - timedelta(days=2))
    assert onsite.decide(profile, SETTINGS, NOW) is not None  # the cart changed since

    profile = shown(with_cart(visitor()), "cart_reminder", NOW - timedelta(minutes=30))
    later = NOW + timedelta(days=2)
    assert onsite.decide(profile, SETTINGS, later) is None  # same cart, already reminded
    with_cart(profile, at=later - timedelta(minutes=5), quantity=3)
    assert onsite.decide(profile, SETTINGS, later).kind == "cart_reminder"


def test_a_regular_visitor_without_email_gets_the_signup_offer_once_a_month():
    profile = visitor()
    for _ in range(3):
        onsite.note_page_view(profile)

    message = onsite.decide(profile, SETTINGS, NOW)
    assert (message.kind, message.trigger, message.cta_url) == (
        "signup_offer",
        "delay",
        "https://shop.example.com/join",
    )
    assert onsite.decide(profile, SETTINGS.model_copy(update={"signup_url": None}), NOW) is None
    assert onsite.decide(visitor(email="a@b.co", onsite=profile.onsite), SETTINGS, NOW) is None

    shown(profile, "signup_offer", NOW)
    assert onsite.decide(profile, SETTINGS, NOW + timedelta(days=10)) is None
    assert onsite.decide(profile, SETTINGS, NOW + timedelta(days=31)) is not None


def test_the_processor_counts_page_views_and_remembers_shown_messages_bounded():
    # Given the snippet's events applied to a profile
    profile = visitor()
    at = NOW - timedelta(hours=2)
    page = SegmentMessage.model_validate({"type": "page", "anonymousId": "a1"})
    shown_event = SegmentMessage.model_validate(
        {
            "type": "track",
            "anonymousId": "a1",
            "event": "Onsite Message Shown",
            "properties": {"kind": "cart_reminder", "trigger": "exit_intent"},
        }
    )
    closed = shown_event.model_copy(update={"event": "Onsite Message Closed"})
    for message in (page, page, shown_event, closed):
        profile = apply_event(profile, message, at, ["anon:a1"], SETTINGS, NOW)

    # Then two page views, one show (the close is an event only), counted as events
    assert profile.onsite.page_views == 2 and profile.event_count == 4
    assert profile.onsite.shown_at == [at]
    assert profile.onsite.last_shown_by_kind == {"cart_reminder": at}

    for minutes in range(MAX_RECENT_ONSITE + 5):
        shown(profile, "unknown-kind", at + timedelta(minutes=minutes))
    assert len(profile.onsite.shown_at) == MAX_RECENT_ONSITE
    assert set(profile.onsite.last_shown_by_kind) == {"cart_reminder"}


def test_the_snippet_settings_are_checked():
    assert ShopSettings().push_prompt_after == "add_to_cart"
    assert ShopSettings(push_prompt_after="page_views:3").push_prompt_after == "page_views:3"
    for bad in ("page_views:0", "always", "page_views:x"):
        try:
            ShopSettings(push_prompt_after=bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} was accepted")


def test_shop_links_are_web_links_only():
    import pytest
    from comeback.models.shop import ShopSettings
    from pydantic import ValidationError

    for field in ("site_url", "signup_url", "push_icon_url"):
        with pytest.raises(ValidationError, match="http"):
            ShopSettings(**{field: "javascript:alert(1)"})
        assert getattr(ShopSettings(**{field: "https://shop.example.com/x"}), field)
    assert ShopSettings(push_icon_url="/icon.png", signup_url="/join").signup_url == "/join"
    for bad in ("//evil.example/x", "data:text/html,x"):
        with pytest.raises(ValidationError):
            ShopSettings(signup_url=bad)
    with pytest.raises(ValidationError):
        ShopSettings(site_url="/relative")
