"""Signed unsubscribe links and the email we build around them."""

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from comeback.domain.email_content import build_mime, render, unsubscribe_url
from comeback.domain.profiles import new_profile
from comeback.domain.timers import CART_RECOVERY
from comeback.domain.tokens import (
    ClickClaim,
    UnsubscribeClaim,
    sign_click,
    sign_unsubscribe,
    verify_click,
    verify_unsubscribe,
)
from comeback.errors import InvalidInput
from comeback.models.profile import Cart, CartLine
from comeback.models.shop import Shop, ShopSettings

KEY = b"k" * 48
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def test_a_token_round_trips_and_any_change_is_refused():
    claim = UnsubscribeClaim("shop-a", "p1", "email", 1700000000)
    token = sign_unsubscribe(claim, KEY)
    assert verify_unsubscribe(token, KEY) == claim
    version, payload, mac = token.split(".")
    for forged in (
        f"{version}.{payload[:-2]}xy.{mac}",
        f"{version}.{payload}.{mac[:-1]}A",
        sign_unsubscribe(claim, b"other" * 10),
        "",
        "1.2",
        "x" * 5000,
    ):
        with pytest.raises(InvalidInput):
            verify_unsubscribe(forged, KEY)


def test_tokens_with_characters_no_token_holds_are_refused_not_crashed_on():
    # Given tokens whose MAC part holds non-ASCII text or a NUL, which hmac.compare_digest
    # refuses with a TypeError (a 500 at the HTTP layer)
    unsubscribe = sign_unsubscribe(UnsubscribeClaim("shop-a", "p1", "email", 1), KEY)
    click = sign_click(ClickClaim("shop-a", "p1", "job", "email", "https://shop.co/"), KEY)
    for bad in ("\u00e9", "\x00", "\u0661", " ", "+/", "="):
        # When they are verified, Then each is refused as an invalid link
        with pytest.raises(InvalidInput, match="unsubscribe link is not valid"):
            verify_unsubscribe(f"1.abc.{bad}", KEY)
        with pytest.raises(InvalidInput, match="unsubscribe link is not valid"):
            verify_unsubscribe(f"{unsubscribe}{bad}", KEY)
        with pytest.raises(InvalidInput, match=r"^this link is not valid"):
            verify_click(f"c1.abc.{bad}", KEY)
        with pytest.raises(InvalidInput, match=r"^this link is not valid"):
            verify_click(f"{click[:-1]}{bad}", KEY)
    # And the genuine tokens still pass
    assert verify_unsubscribe(unsubscribe, KEY).profile_id == "p1"
    assert verify_click(click, KEY).url == "https://shop.co/"


def test_every_value_in_an_email_is_escaped_and_one_click_headers_are_set():
    shop = Shop(
        shop_id="s",
        name="Ünïcode <Shop>",
        created_at=T0,
        settings=ShopSettings(site_url="https://shop.example.com"),
    )
    profile = new_profile("s", "p", T0)
    profile.traits = {"first_name": "<img src=x onerror=alert(1)>"}
    profile.cart = Cart(
        updated_at=T0,
        lines={"x": CartLine(product_id="x", name='"><script>alert(1)</script>', updated_at=T0)},
    )
    link = unsubscribe_url(
        "https://api.example.com/", sign_unsubscribe(UnsubscribeClaim("s", "p", "email", 1), KEY)
    )
    content = render(CART_RECOVERY, profile, shop, link)
    assert "<script>" not in content.html and "<img" not in content.html
    assert "&lt;script&gt;" in content.html

    mime = build_mime(
        content,
        from_address="hello@shop.example.com",
        from_name=shop.name,
        to="ann@example.com",
        unsubscribe_link=link,
        now=T0,
        message_kind=CART_RECOVERY,
    )
    parsed = message_from_bytes(mime.as_bytes(), policy=policy.default)
    assert parsed["List-Unsubscribe"] == f"<{link}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["From"].addresses[0].display_name == "Ünïcode <Shop>"
    assert "=?utf-8?" in mime.as_string().split("\n\n")[0]  # non-ASCII names encoded
    assert {part.get_content_type() for part in parsed.iter_parts()} == {"text/plain", "text/html"}
