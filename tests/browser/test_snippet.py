"""The browser snippet in headless Chromium (Debian's `chromium`) against the local stack.

The example shop pages (`examples/shop-page/`) are served from their own origin on 127.0.0.1;
the snippet, its settings and the tracking calls come from the local API on another port,
cross-origin as on a real shop. Everything on our side is real: events go through the intake,
the queue and the processor onto the profile. Only what no machine here can provide is stubbed
in the page: the permission grant and `PushManager.subscribe`, which answers with a
subscription at the local push peer, so the real API accepts and stores it.
"""

import json
import threading
import time
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from comeback.keys import endpoint_digest

from tests.conftest import START, make_shop
from tests.support import shop_items

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = Path(__file__).resolve().parents[2] / "examples" / "shop-page"
PROMPT = "[data-comeback='push-prompt']"
POPUP = "[data-comeback='onsite']"
WAIT_SECONDS = 15.0


class _ShopPages(SimpleHTTPRequestHandler):
    """The example pages with the API's address and the shop's write key filled in."""

    def __init__(self, *args, api: str, write_key: str, **kwargs):
        self.api, self.write_key = api, write_key
        super().__init__(*args, directory=str(PAGES), **kwargs)

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        path = PAGES / (self.path.split("?", 1)[0].lstrip("/") or "index.html")
        if not path.is_file() or path.parent != PAGES:
            self.send_error(404)
            return
        text = path.read_text().replace("__COMEBACK_API__", self.api)
        data = text.replace("__WRITE_KEY__", self.write_key).encode()
        kind = "application/javascript" if path.suffix == ".js" else "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


class ShopSite:
    def __init__(self, api: str, write_key: str) -> None:
        handler = partial(_ShopPages, api=api, write_key=write_key)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium package; "
            "`make test` installs it (apt-get install chromium)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site_for(stack):
    sites = []

    def start(shop):
        sites.append(ShopSite(stack.api.url, shop.keys.write_key))
        return sites[-1]

    yield start
    for site in sites:
        site.stop()


def push_stubs(subscription: dict) -> str:
    """Permission granted on request, and a subscription at the local push peer."""
    return """
    (() => {
      let permission = "default";
      Object.defineProperty(Notification, "permission", {
        configurable: true, get: () => permission,
      });
      Notification.requestPermission = async () => {
        window.__permissionAsked = (window.__permissionAsked || 0) + 1;
        permission = "granted";
        return permission;
      };
      PushManager.prototype.subscribe = async function (options) {
        window.__subscribeOptions = {
          userVisibleOnly: options.userVisibleOnly,
          keyBytes: options.applicationServerKey.byteLength,
        };
        const json = __SUBSCRIPTION__;
        return { endpoint: json.endpoint, toJSON: () => json };
      };
    })();
    """.replace("__SUBSCRIPTION__", json.dumps(subscription))


def open_page(page, url):
    page.goto(url)
    return snippet_ready(page)


def snippet_ready(page):
    """The visitor's anonymous id, once the snippet has loaded and read the shop's settings."""
    page.wait_for_function("window.comeback && window.comeback.loaded && window.comeback.ready")
    return page.evaluate("window.comeback.ready.then(c => c.anonymousId())")


def wait_for(condition, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def profile_for(stack, shop, anonymous_id):
    store = stack.store()
    identifier = f"anon:{anonymous_id}"
    profile_id = store.find_links(shop.shop_id, [identifier]).get(identifier)
    return store.get_profile(shop.shop_id, profile_id) if profile_id else None


def settled_profile(stack, shop, anonymous_id, condition, what):
    def check():
        stack.process_events()
        profile = profile_for(stack, shop, anonymous_id)
        return profile if profile is not None and condition(profile) else None

    return wait_for(check, what)


def stored_events(stack, shop, profile_id):
    events = [e for e in shop_items(stack, shop.shop_id, "event") if e["profile_id"] == profile_id]
    return sorted((e["timestamp"], e["type"], e.get("event")) for e in events)


def test_page_product_and_cart_events_reach_the_profile_and_push_is_offered_after_the_add(
    stack, chromium, site_for
):
    # Given a shop that offers push after an add to cart (the default), a visitor's browser
    shop = make_shop(stack, START)
    site = site_for(shop)
    browser_sub = stack.push_peer.new_subscriber().subscription
    subscription = {
        "endpoint": browser_sub.endpoint,
        "keys": {"p256dh": browser_sub.p256dh, "auth": browser_sub.auth},
    }
    context = chromium.new_context()
    context.add_init_script(push_stubs(subscription))
    page = context.new_page()

    # When they land on the home page, then open a product page
    anonymous_id = open_page(page, f"{site.url}/index.html")
    assert page.locator(PROMPT).count() == 0
    page.click("#product-link")
    page.wait_for_url(f"{site.url}/product.html")
    assert snippet_ready(page) == anonymous_id
    page.wait_for_timeout(400)  # the snippet batches for 250 ms

    # Then no prompt before the add to cart; it shows right after it
    assert page.locator(PROMPT).count() == 0
    page.click("#add-to-cart")
    page.wait_for_selector(PROMPT, state="visible")
    assert page.evaluate("window.__permissionAsked") is None  # only our own card so far

    # And the page view, product view and add to cart are on the visitor's profile
    profile = settled_profile(
        stack, shop, anonymous_id, lambda p: p.event_count >= 4, "the four events"
    )
    kinds = [(kind, name) for _, kind, name in stored_events(stack, shop, profile.profile_id)]
    # Stored times are the browser's, corrected for its clock against the arrival time of
    # each request; on the test's frozen clock that correction makes their order meaningless,
    # so compare what arrived, not in which order
    assert sorted(kinds, key=str) == [
        ("page", None),
        ("page", None),
        ("track", "Product Added"),
        ("track", "Product Viewed"),
    ]
    assert profile.event_count == 4 and profile.onsite.page_views == 2
    assert list(profile.cart.lines) == ["mug-blue"] and profile.cart.item_count == 1
    [cookie] = [c for c in context.cookies() if c["name"] == "cb_anon"]
    assert cookie["value"] == anonymous_id and cookie["sameSite"] == "Lax"

    # When the visitor allows notifications on the soft prompt
    page.click(f"{PROMPT} >> text=Allow")
    page.wait_for_function("localStorage.getItem('comeback.pushSubscribedAt')")

    # Then the browser was asked once, subscribed with the API's VAPID key, and the real API
    # stored the subscription for this visitor (push consent from the browser's grant)
    assert page.evaluate("window.__permissionAsked") == 1
    assert page.evaluate("window.__subscribeOptions") == {"userVisibleOnly": True, "keyBytes": 65}
    profile = settled_profile(
        stack, shop, anonymous_id, lambda p: p.push_endpoints, "the push subscription"
    )
    assert profile.push_endpoints == [endpoint_digest(browser_sub.endpoint)]
    assert profile.has_consent("push")
    [stored] = shop_items(stack, shop.shop_id, "push_subscription")
    assert stored["endpoint"] == browser_sub.endpoint and stored["profile_id"] == profile.profile_id

    # And the service worker (the shop's root file importing ours) is registered and active
    script_url = page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
    assert script_url == f"{site.url}/comeback-sw.js"
    assert any(w.url == script_url for w in context.service_workers)
    assert page.locator(PROMPT).count() == 0
    context.close()


def test_a_cart_reminder_pops_up_on_exit_intent_closes_and_is_recorded(stack, chromium, site_for):
    # Given a visitor on a phone-sized window who added to cart on their first page view
    shop = make_shop(stack, START)
    site = site_for(shop)
    context = chromium.new_context(viewport={"width": 375, "height": 667})
    context.add_init_script(push_stubs({"endpoint": "unused", "keys": {}}))
    page = context.new_page()
    anonymous_id = open_page(page, f"{site.url}/product.html")
    page.click("#add-to-cart")
    page.wait_for_timeout(400)
    assert page.locator(PROMPT).count() == 0  # never on the first page view
    settled_profile(stack, shop, anonymous_id, lambda p: p.cart is not None, "the cart")

    # When they come back to the home page: the push offer waits from the add to cart
    with page.expect_response(lambda r: "/v1/web/onsite" in r.url) as answer:
        open_page(page, f"{site.url}/index.html")
    message = answer.value.json()["message"]
    assert message["kind"] == "cart_reminder" and message["trigger"] == "exit_intent"
    assert "1 item" in message["body"] and anonymous_id not in json.dumps(message)
    page.wait_for_selector(PROMPT, state="visible")
    page.click(f"{PROMPT} >> text=Not now")
    assert page.evaluate("localStorage.getItem('comeback.pushDeclinedAt')")
    assert page.locator(POPUP).count() == 0

    # And the pointer leaves through the top of the window (the event a browser fires then:
    # headless Chromium's mouse cannot leave the viewport)
    page.evaluate(
        "document.documentElement.dispatchEvent("
        "new MouseEvent('mouseout', {clientY: -1, relatedTarget: null, bubbles: true}))"
    )

    # Then a small card shows (no full-screen takeover) with an obvious close button
    popup = page.locator(POPUP)
    popup.wait_for(state="visible")
    assert "Still thinking it over?" in popup.inner_text()
    box = popup.bounding_box()
    assert box["width"] < 375 and box["height"] < 667 / 2 and box["y"] > 667 / 2
    page.click(f"{POPUP} [aria-label='Close']")
    popup.wait_for(state="detached")

    # And the show and the close reach the API and the profile (the server-side day limit)
    profile = settled_profile(
        stack, shop, anonymous_id, lambda p: p.onsite.shown_at, "the shown message"
    )
    events = [name for _, _, name in stored_events(stack, shop, profile.profile_id)]
    assert "Onsite Message Shown" in events
    wait_for(
        lambda: (
            stack.process_events() is not None
            and "Onsite Message Closed"
            in [name for _, _, name in stored_events(stack, shop, profile.profile_id)]
        ),
        "the close event",
    )
    status, body = shop.get(
        f"/v1/web/onsite?writeKey={shop.keys.write_key}&anonymousId={anonymous_id}"
    )
    assert status == 200 and json.loads(body) == {"message": None}

    # And a "Not now" holds: the next page view offers no push and no second pop-up
    open_page(page, f"{site.url}/index.html")
    page.wait_for_timeout(400)
    assert page.locator(PROMPT).count() == 0 and page.locator(POPUP).count() == 0
    context.close()


def test_with_global_privacy_control_on_nothing_is_sent_or_stored(stack, chromium, site_for):
    # Given a shop that respects privacy signals (the default) and a browser sending GPC
    shop = make_shop(stack, START + timedelta(minutes=1))
    site = site_for(shop)
    context = chromium.new_context()
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"
    )
    page = context.new_page()
    calls = []
    page.on("request", lambda request: calls.append(request.url))

    # When the visitor browses and adds to cart
    open_page(page, f"{site.url}/index.html")
    open_page(page, f"{site.url}/product.html")
    page.click("#add-to-cart")
    page.evaluate("window.comeback.track('Custom Event', {})")
    page.wait_for_timeout(800)

    # Then the snippet fetched its settings and sent nothing, stored nothing
    api_calls = {url.split("?")[0] for url in calls if url.startswith(stack.api.url)}
    assert api_calls == {f"{stack.api.url}/v1/web/comeback.js", f"{stack.api.url}/v1/web/config"}
    assert [c for c in context.cookies() if c["name"] == "cb_anon"] == []
    assert page.evaluate("Object.keys(localStorage)") == []
    assert page.locator(PROMPT).count() == 0
    stack.process_events()
    assert shop_items(stack, shop.shop_id, "event") == []
    context.close()


def test_the_snippet_endpoints_answer_cross_origin_and_refuse_unknown_keys(stack, shop):
    status, body = shop.get(f"/v1/web/config?writeKey={shop.keys.write_key}")
    config = json.loads(body)
    assert status == 200 and config["pushPrompt"]["after"] == "add_to_cart"
    assert config["respectPrivacySignals"] is True and config["onsite"]["maxPerDay"] == 1
    assert shop.get("/v1/web/config?writeKey=wk_nope")[0] == 401
    assert shop.get(f"/v1/web/config?writeKey={shop.keys.secret_key}")[0] == 401
    assert shop.get(f"/v1/web/onsite?writeKey={shop.keys.write_key}")[0] == 400
    status, body = shop.get(f"/v1/web/onsite?writeKey={shop.keys.write_key}&anonymousId=new")
    assert status == 200 and json.loads(body) == {"message": None}
    status, script = shop.get("/v1/web/comeback.js")
    assert status == 200 and "window.comeback" in script


def test_the_scripts_ship_in_the_common_layer():
    from fnmatch import fnmatch

    from comeback.services import web

    from infra.lambdas import COMMON_LAYER_EXCLUDES

    for name in web.ASSETS:
        assert web.asset(name).text.startswith("/* Comeback")
        path = f"python/comeback/web/{web.ASSETS[name]}"
        assert not any(fnmatch(path, pattern) for pattern in COMMON_LAYER_EXCLUDES)
