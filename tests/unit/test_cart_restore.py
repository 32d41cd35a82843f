"""Restore-cart links: the signed, expiring token and the page it opens (no AWS: a small
in-memory stand-in for the store)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from comeback.domain.tokens import (
    CartClaim,
    ClickClaim,
    UnsubscribeClaim,
    sign_cart,
    sign_click,
    sign_unsubscribe,
    verify_cart,
)
from comeback.errors import InvalidInput, LinkExpired
from comeback.http import error_status, html_response
from comeback.models.profile import Cart, CartLine, Profile
from comeback.models.shop import Shop, ShopSettings
from comeback.services.cart_restore import (
    DEFAULT_CART_LINK_TTL,
    cart_link,
    new_cart_claim,
    restore_page,
)
from comeback.web import pages

KEY = b"k" * 48
NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
LATER = int((NOW + timedelta(days=1)).timestamp())


def _claim(shop_id="shop-a", profile_id="p1", expires=LATER):
    return CartClaim(shop_id, profile_id, "2024-05-01T08:00:00.000Z", expires)


def _cart(*names, restore_url=None, url=None, image_url=None):
    lines = {
        f"sku-{i}": CartLine(
            product_id=f"sku-{i}",
            name=name,
            price=Decimal("12.50"),
            quantity=2,
            url=url,
            image_url=image_url,
            updated_at=NOW,
        )
        for i, name in enumerate(names)
    }
    return Cart(currency="EUR", lines=lines, updated_at=NOW, restore_url=restore_url)


def _profile(shop_id, profile_id, cart=None, merged_into=None):
    return Profile(
        shop_id=shop_id,
        profile_id=profile_id,
        created_at=NOW,
        updated_at=NOW,
        cart=cart,
        merged_into=merged_into,
    )


def _shop(shop_id="shop-a", site_url="https://shop.example.com"):
    return Shop(
        shop_id=shop_id,
        name="Mug & Co",
        created_at=NOW,
        settings=ShopSettings(site_url=site_url),
    )


@dataclass
class FakeStore:
    """What restore_page reads: shops by id, profiles by (shop, profile)."""

    shops: dict[str, Shop] = field(default_factory=dict)
    profiles: dict[tuple[str, str], Profile] = field(default_factory=dict)

    def add(self, profile: Profile) -> None:
        self.profiles[(profile.shop_id, profile.profile_id)] = profile

    def get_shop(self, shop_id: str) -> Shop | None:
        return self.shops.get(shop_id)

    def get_profile(self, shop_id: str, profile_id: str) -> Profile | None:
        return self.profiles.get((shop_id, profile_id))


def _store(*profiles, shops=None):
    store = FakeStore(shops={s.shop_id: s for s in (shops or [_shop()])})
    for profile in profiles:
        store.add(profile)
    return store


# -- the token ------------------------------------------------------------------------------


def test_a_cart_token_round_trips():
    claim = _claim()
    assert verify_cart(sign_cart(claim, KEY), KEY, NOW) == claim


def test_an_altered_payload_or_mac_or_key_or_garbage_is_refused_as_invalid():
    claim = _claim()
    token = sign_cart(claim, KEY)
    version, payload, mac = token.split(".")
    other_payload = sign_cart(_claim(profile_id="p2"), KEY).split(".")[1]
    for forged in (
        f"{version}.{other_payload}.{mac}",  # someone else's profile under this MAC
        f"{version}.{payload[:-2]}xy.{mac}",
        f"{version}.{payload}.{mac[:-1]}{'A' if not mac.endswith('A') else 'B'}",
        f"r2.{payload}.{mac}",
        sign_cart(claim, b"other" * 10),
        "",
        "r1.abc",
        "r1.abc.\u00e9",
        "x" * 5000,
    ):
        with pytest.raises(InvalidInput, match=r"^this link is not valid$"):
            verify_cart(forged, KEY, NOW)


def test_a_token_signed_for_another_purpose_never_passes_as_a_cart_token():
    unsubscribe = sign_unsubscribe(UnsubscribeClaim("shop-a", "p1", "email", LATER), KEY)
    click = sign_click(ClickClaim("shop-a", "p1", "job", "email", "https://shop.co/"), KEY)
    for token in (unsubscribe, click):
        with pytest.raises(InvalidInput):
            verify_cart(token, KEY, NOW)
        # Not even with the version part swapped for ours: the MAC covers the version
        with pytest.raises(InvalidInput):
            verify_cart("r1." + token.split(".", 1)[1], KEY, NOW)


def test_an_expired_token_is_told_apart_from_a_forged_one_and_maps_to_410():
    claim = _claim(expires=int(NOW.timestamp()))
    with pytest.raises(LinkExpired) as raised:
        verify_cart(sign_cart(claim, KEY), KEY, NOW)
    assert raised.value.shop_id == "shop-a"
    assert error_status(raised.value) == 410
    # One second earlier it still worked
    assert verify_cart(sign_cart(claim, KEY), KEY, NOW - timedelta(seconds=1)) == claim


def test_new_links_expire_after_the_default_time_and_carry_the_token_quoted():
    claim = new_cart_claim("shop-a", "p1", "subject", NOW)
    assert claim.expires == int((NOW + DEFAULT_CART_LINK_TTL).timestamp())
    link = cart_link("https://api.example.com/", claim, KEY)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "api.example.com", "/v1/cart")
    assert verify_cart(parse_qs(parts.query)["t"][0], KEY, NOW) == claim


# -- the page -------------------------------------------------------------------------------


def test_the_page_shows_the_cart_with_every_value_escaped():
    cart = _cart(
        "<script>alert(1)</script>",
        url="javascript:alert(1)",
        image_url='https://cdn.example.com/a.png"onerror="x',
    )
    page = pages.cart_page("Mug <b>& Co</b>", cart, "https://shop.example.com/cart")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>" not in page and "Mug &lt;b&gt;&amp; Co&lt;/b&gt;" in page
    assert "javascript:" not in page  # not a link
    assert 'src="https://cdn.example.com/a.png&quot;onerror=&quot;x"' in page
    assert "12.50 EUR" in page and "25.00 EUR" in page  # a line, and the total of 2 x 12.50


def test_lines_link_only_to_the_shops_own_site_and_only_https_pictures_show():
    cart = _cart("Blue Mug", url="https://shop.example.com/p/mug", image_url="http://x/a.png")
    page = pages.cart_page("Shop", cart, None, "https://shop.example.com")
    assert '<a href="https://shop.example.com/p/mug" rel="noreferrer">Blue Mug</a>' in page
    assert "<img" not in page
    assert "Continue to checkout" not in page  # nowhere to send them
    # A browser can send any product URL and name: no link elsewhere, no link in the name.
    bait = _cart(
        "Hold on: confirm your card at https://evil.example/pay", url="https://evil.example/pay"
    )
    page = pages.cart_page("Shop", bait, None, "https://shop.example.com")
    assert "evil.example" not in page and "Hold on: confirm your card at" in page


def test_the_button_goes_to_the_platforms_restore_link_else_the_sites_cart():
    restore = "https://shop.example.com/checkouts/abc?key=1&x=2"
    store = _store(_profile("shop-a", "p1", _cart("Blue Mug", restore_url=restore)))
    status, page = restore_page(store, sign_cart(_claim(), KEY), KEY, NOW)
    assert status == 200 and "Blue Mug" in page
    assert 'href="https://shop.example.com/checkouts/abc?key=1&amp;x=2"' in page

    store = _store(
        _profile("shop-a", "p1", _cart("Blue Mug")), shops=[_shop(site_url="https://s.co/")]
    )
    _, page = restore_page(store, sign_cart(_claim(), KEY), KEY, NOW)
    assert 'class="button" href="https://s.co/cart"' in page

    store = _store(_profile("shop-a", "p1", _cart("Blue Mug")), shops=[_shop(site_url=None)])
    status, page = restore_page(store, sign_cart(_claim(), KEY), KEY, NOW)
    assert status == 200 and "Blue Mug" in page and "Continue to checkout" not in page


def test_a_merged_profile_shows_the_cart_of_the_profile_it_merged_into():
    store = _store(
        _profile("shop-a", "p1", merged_into="p2"),
        _profile("shop-a", "p2", merged_into="p3"),
        _profile("shop-a", "p3", _cart("Red Mug")),
    )
    status, page = restore_page(store, sign_cart(_claim(), KEY), KEY, NOW)
    assert status == 200 and "Red Mug" in page


def test_a_merge_chain_longer_than_any_real_one_shows_nothing():
    chain = [_profile("shop-a", f"p{i}", merged_into=f"p{i + 1}") for i in range(1, 10)]
    store = _store(*chain, _profile("shop-a", "p10", _cart("Red Mug")))
    status, page = restore_page(store, sign_cart(_claim(), KEY), KEY, NOW)
    assert status == 404 and "Red Mug" not in page


def test_a_checked_out_or_emptied_cart_gets_a_friendly_page_with_the_shop():
    for cart in (None, Cart(updated_at=NOW)):
        store = _store(_profile("shop-a", "p1", cart))
        status, page = restore_page(store, sign_cart(_claim(), KEY), KEY, NOW)
        assert status == 200
        assert "already been checked out or emptied" in page
        assert 'href="https://shop.example.com"' in page


def test_failures_get_their_own_status_and_never_another_cart():
    other = _profile("shop-b", "p1", _cart("Secret Mug"))
    store = _store(other, shops=[_shop("shop-a"), _shop("shop-b")])
    # shop A's token naming a profile id that exists only in shop B: nothing of B's
    status, page = restore_page(store, sign_cart(_claim("shop-a", "p1"), KEY), KEY, NOW)
    assert status == 404 and "Secret Mug" not in page and "Mug &amp; Co" not in page
    # an unknown shop
    status, _ = restore_page(store, sign_cart(_claim("shop-x", "p1"), KEY), KEY, NOW)
    assert status == 404
    # altered and missing tokens
    token = sign_cart(_claim("shop-b", "p1"), KEY)
    for bad in (token[:-1] + ("A" if not token.endswith("A") else "B"), None, ""):
        status, page = restore_page(store, bad, KEY, NOW)
        assert status == 400 and "This link is not valid" in page and "Secret" not in page
    # expired: the shop's site, no cart
    expired = sign_cart(_claim("shop-b", "p1", expires=int(NOW.timestamp()) - 1), KEY)
    status, page = restore_page(store, expired, KEY, NOW)
    assert status == 410 and "This link has expired" in page and "Secret" not in page
    assert 'href="https://shop.example.com"' in page


def test_html_answers_keep_the_token_out_of_caches_referers_and_search_engines():
    for answer in (html_response(200, "x", images=True), html_response(400, "x")):
        headers = answer["headers"]
        assert headers["cache-control"] == "no-store"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-robots-tag"] == "noindex"
        assert not any(name.lower() == "set-cookie" for name in headers)
    assert (
        "img-src https:"
        in html_response(200, "x", images=True)["headers"]["content-security-policy"]
    )
    assert "img-src" not in html_response(200, "x")["headers"]["content-security-policy"]
