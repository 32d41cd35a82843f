"""Restore-cart links over HTTP through the local stack: opened with no cookies at all (a
private window), refused when altered, expired, or naming another shop's person."""

import urllib.error
import urllib.request
from datetime import timedelta

from comeback import wiring
from comeback.domain.tokens import CartClaim
from comeback.services.cart_restore import cart_link
from comeback.settings import UnsubscribeSettings, load

from tests.conftest import START, make_shop
from tests.support import profile_of

EXPIRES = int((START + timedelta(days=14)).timestamp())


def _signing_key() -> bytes:
    return wiring.signing_key(load(UnsubscribeSettings).signing_secret_arn)


def _fill_cart(stack, shop, user, *names):
    for i, name in enumerate(names):
        status, body = shop.post(
            "/v1/track",
            {
                "userId": user,
                "event": "Product Added",
                "timestamp": (START + timedelta(minutes=i)).isoformat(),
                "properties": {
                    "product_id": f"sku-{i}",
                    "name": name,
                    "price": 12.5,
                    "quantity": 2,
                    "url": f"https://shop.example.com/p/{i}",
                },
            },
        )
        assert status == 200, body
    stack.process_events()
    return profile_of(stack, shop.shop_id, user)


def _open(url):
    """A browser's private window: a plain GET, no cookie jar, no redirects followed."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def _link(stack, shop_id, profile_id, expires=EXPIRES):
    claim = CartClaim(shop_id, profile_id, START.isoformat(), expires)
    return cart_link(stack.api.url, claim, _signing_key())


def test_a_restore_link_shows_the_cart_with_no_cookies_and_leaks_no_token(stack, shop):
    profile = _fill_cart(stack, shop, "u1", "Blue Mug", "Green <Teapot>")
    status, headers, page = _open(_link(stack, shop.shop_id, profile.profile_id))
    assert status == 200
    assert "Blue Mug" in page and "Green &lt;Teapot&gt;" in page
    assert 'href="https://shop.example.com/cart"' in page  # the site's cart page
    assert 'href="https://shop.example.com/p/0"' in page
    assert headers.get_all("Set-Cookie") is None
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Robots-Tag"] == "noindex"
    assert headers["Content-Type"].startswith("text/html")


def test_the_platforms_checkout_link_from_a_trusted_checkout_is_the_button(stack, shop):
    profile = _fill_cart(stack, shop, "u2", "Blue Mug")
    restore = "https://shop.example.com/checkouts/abc/recover?key=xyz"
    status, body = shop.post(
        "/v1/track",
        {
            "userId": "u2",
            "event": "Checkout Started",
            "timestamp": (START + timedelta(minutes=5)).isoformat(),
            "properties": {
                "restore_url": restore,
                "products": [{"product_id": "sku-0", "name": "Blue Mug", "price": 12.5}],
            },
        },
        key=shop.keys.secret_key,  # only the shop's backend may set the restore link
    )
    assert status == 200, body
    stack.process_events()
    status, _, page = _open(_link(stack, shop.shop_id, profile.profile_id))
    assert status == 200 and f'class="button" href="{restore}"' in page


def test_an_altered_or_expired_link_shows_no_cart(stack, shop):
    profile = _fill_cart(stack, shop, "u1", "Blue Mug")
    link = _link(stack, shop.shop_id, profile.profile_id)
    altered = link[:-1] + ("A" if not link.endswith("A") else "B")
    status, headers, page = _open(altered)
    assert status == 400 and "This link is not valid" in page and "Blue Mug" not in page
    assert headers.get_all("Set-Cookie") is None

    expired = _link(stack, shop.shop_id, profile.profile_id, int(START.timestamp()) - 1)
    status, _, page = _open(expired)
    assert status == 410 and "This link has expired" in page and "Blue Mug" not in page
    assert 'href="https://shop.example.com"' in page

    status, _, page = _open(f"{stack.api.url}/v1/cart")
    assert status == 400 and "Blue Mug" not in page


def test_a_shop_can_never_open_another_shops_cart(stack):
    shop_a, shop_b = make_shop(stack), make_shop(stack)
    _fill_cart(stack, shop_a, "a1", "Blue Mug")
    theirs = _fill_cart(stack, shop_b, "b1", "Secret Teapot")
    # A token signed for shop A (as A's reminders are) naming B's person
    status, _, page = _open(_link(stack, shop_a.shop_id, theirs.profile_id))
    assert status == 404
    assert "Secret Teapot" not in page and "Blue Mug" not in page
    assert shop_b.shop_id not in page and theirs.profile_id not in page


def test_after_the_order_the_link_says_the_cart_was_checked_out(stack, shop):
    profile = _fill_cart(stack, shop, "u1", "Blue Mug")
    link = _link(stack, shop.shop_id, profile.profile_id)
    status, body = shop.post(
        "/v1/track",
        {
            "userId": "u1",
            "event": "Order Completed",
            "timestamp": (START + timedelta(hours=1)).isoformat(),
            "properties": {"order_id": "o-1", "total": 25},
        },
    )
    assert status == 200, body
    stack.process_events()
    status, _, page = _open(link)
    assert status == 200
    assert "already been checked out or emptied" in page and "Blue Mug" not in page
    assert 'href="https://shop.example.com"' in page
