"""Web push rules: which subscriptions we accept, what we send, and what answers mean."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from comeback.domain.push import (
    ELLIPSIS,
    MIN_PAYLOAD_BYTES,
    PushOutcome,
    PushSubscription,
    build_payload,
    check_vapid_subject,
    classify_push_response,
    delivery_options,
    normalise_subscription,
    push_service_origin,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
FCM = "https://fcm.googleapis.com/fcm/send/abc:def"
LINK = "https://shop.co/cart"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def point_with_url_safe_characters() -> bytes:
    """A real P-256 public key whose base64 has '-' or '_', so the alphabets differ."""
    for scalar in range(1, 100):
        key = ec.derive_private_key(scalar, ec.SECP256R1())
        raw = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        encoded = b64url(raw)
        if "-" in encoded and "_" in encoded:
            return raw
    raise AssertionError("no such key in the first 100 scalars")


POINT = point_with_url_safe_characters()
SECRET = bytes([0xFB, 0xEF, 0xBE] * 5 + [0xFF])  # base64 "+" / "-" and "/" / "_"


def subscribe(endpoint=FCM, p256dh=None, auth=None, *, allow_loopback=False):
    return normalise_subscription(
        endpoint,
        b64url(POINT) if p256dh is None else p256dh,
        b64url(SECRET) if auth is None else auth,
        allow_loopback=allow_loopback,
    )


# Keys


@pytest.mark.parametrize(
    ("p256dh", "auth"),
    [
        (b64url(POINT), b64url(SECRET)),  # what browsers send
        (base64.urlsafe_b64encode(POINT).decode(), base64.urlsafe_b64encode(SECRET).decode()),
        (base64.b64encode(POINT).decode(), base64.b64encode(SECRET).decode()),
        (base64.b64encode(POINT).decode().rstrip("="), base64.b64encode(SECRET).decode()[:-2]),
    ],
    ids=["base64url", "base64url-padded", "standard-padded", "standard-unpadded"],
)
def test_every_base64_form_of_the_keys_normalises_to_unpadded_base64url(p256dh, auth):
    subscription = subscribe(p256dh=p256dh, auth=auth)
    assert subscription == PushSubscription(FCM, b64url(POINT), b64url(SECRET))
    assert "=" not in subscription.p256dh + subscription.auth
    assert "+" not in subscription.auth and "/" not in subscription.auth


OFF_CURVE = b"\x04" + (1).to_bytes(32, "big") + (1).to_bytes(32, "big")


@pytest.mark.parametrize(
    ("p256dh", "auth", "message"),
    [
        (b64url(POINT[:64]), None, "65 bytes"),
        (b64url(POINT + b"\x00"), None, "65 bytes"),
        (b64url(b"\x02" + POINT[1:]), None, "uncompressed"),
        (b64url(OFF_CURVE), None, "curve"),
        (None, b64url(SECRET[:15]), "16-byte"),
        (None, b64url(SECRET + b"\x00"), "16-byte"),
        ("not base64!", None, "base64"),
        (b64url(POINT) + "AB", None, "base64"),  # a length no base64 can have
        (b64url(POINT) + "===", None, "base64"),
        (None, b64url(SECRET)[:-1] + "==", "base64"),  # padding on a wrong length
        ("", None, "base64"),
        (None, "", "base64"),
    ],
)
def test_keys_of_the_wrong_shape_are_refused_with_a_message(p256dh, auth, message):
    with pytest.raises(ValueError, match=message):
        subscribe(p256dh=p256dh, auth=auth)


@pytest.mark.parametrize(
    ("endpoint", "p256dh", "auth"),
    [(FCM, None, b64url(SECRET)), (FCM, b64url(POINT), 16), (None, b64url(POINT), b64url(SECRET))],
)
def test_values_that_are_not_text_are_refused(endpoint, p256dh, auth):
    # JSON bodies can carry anything; the subscribe API passes them on as they come
    with pytest.raises(ValueError):
        normalise_subscription(endpoint, p256dh, auth, allow_loopback=False)


# Endpoints


@pytest.mark.parametrize(
    "endpoint",
    [
        FCM,
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAA",
        "https://web.push.apple.com/QGx1Zm",
        "https://api.push.apple.com/3/device/x",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA%3d%3d",
        "https://fcm.googleapis.com:443/fcm/send/x",
        "https://FCM.googleapis.com/fcm/send/x",
    ],
)
def test_endpoints_at_known_push_services_are_accepted_in_production(endpoint):
    assert subscribe(endpoint).endpoint == endpoint


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com.evil.tld/fcm/send/x",
        "https://evilfcm.googleapis.com/x",
        "https://googleapis.com/x",
        "https://evilpush.apple.com/x",
        "https://push.apple.com/x",
        "https://a..push.apple.com/x",
        "https://notify.windows.com/x",
        "https://x.notify.windows.com.evil.tld/x",
        "https://fcm.googleapis.com./x",
        "https://fcm.googleapis.com:8443/x",
        "https://fcm.googleapis.com:/x",
        "http://fcm.googleapis.com/x",
        "https://142.250.74.74/fcm/send/x",
        "https://[2a00:1450:4001::200a]/x",
        "https://user:pw@fcm.googleapis.com/x",
        "https://fcm.googleapis.com@evil.tld/x",
        "https://fcm.googleapis.com\\@evil.tld/x",
        "https://fcm.googleapis.com/x#fragment",
        "https://fcm.googleapis.com/x#",
        "https://fcm.googleapis.com/x y",
        "https://fcm.googleapis\t.com/x",
        " https://fcm.googleapis.com/x",
        "https://fcm.googleapis.com/" + "a" * 1000,
        "fcm.googleapis.com/fcm/send/x",
        "//fcm.googleapis.com/x",
        "wss://fcm.googleapis.com/x",
        "http://127.0.0.1:8080/push/x",
        "",
    ],
)
def test_anything_else_is_refused_in_production(endpoint):
    with pytest.raises(ValueError):
        subscribe(endpoint)


def test_a_long_endpoint_is_refused_only_past_1024_characters():
    prefix = "https://fcm.googleapis.com/"
    assert subscribe(prefix + "a" * (1024 - len(prefix)))
    with pytest.raises(ValueError, match="1024"):
        subscribe(prefix + "a" * (1025 - len(prefix)))


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8080/push/x",
        "https://127.0.0.1/push/x",
        "http://localhost:9/push/x",
        "http://[::1]:65535/push/x",
    ],
)
def test_local_mode_accepts_loopback_endpoints(endpoint):
    assert subscribe(endpoint, allow_loopback=True).endpoint == endpoint


@pytest.mark.parametrize(
    "endpoint",
    [
        FCM,  # nothing a local run sends may leave the machine
        "https://web.push.apple.com/x",
        "http://127.0.0.2/push/x",
        "http://10.0.0.1/push/x",
        "http://0.0.0.0:8080/push/x",
        "http://localhost.evil.tld/push/x",
        "http://127.0.0.1.nip.io/push/x",
        "http://evil.tld@127.0.0.1/push/x",
        "http://127.0.0.1:0/push/x",
        "http://127.0.0.1:65536/push/x",
        "ftp://127.0.0.1/push/x",
        "http://127.0.0.1/push/x#frag",
    ],
)
def test_local_mode_refuses_everything_but_loopback(endpoint):
    with pytest.raises(ValueError):
        subscribe(endpoint, allow_loopback=True)


@pytest.mark.parametrize(
    ("endpoint", "origin"),
    [
        (FCM, "https://fcm.googleapis.com"),
        ("https://fcm.googleapis.com:443/x", "https://fcm.googleapis.com"),
        ("HTTPS://Web.Push.Apple.com/x", "https://web.push.apple.com"),
        ("https://localhost:8443/x?y=1", "https://localhost:8443"),
        ("http://127.0.0.1:8080/push/x", "http://127.0.0.1:8080"),
        ("http://localhost:80/push/x", "http://localhost"),
        ("http://[::1]:9000/push/x", "http://[::1]:9000"),
    ],
)
def test_the_push_service_origin_is_scheme_host_and_any_non_default_port(endpoint, origin):
    assert push_service_origin(endpoint) == origin


# VAPID subject


@pytest.mark.parametrize(
    "subject",
    [
        "mailto:ops@shop.co",
        "MAILTO:Ops@Shop.Co",
        "mailto:push+alerts@mail.shop.co.uk",
        "https://shop.co",
        "https://shop.co/contact",
        "https://myexample.com/",  # the placeholder rule is on a dot boundary
        "mailto:ops@examples.org",
    ],
)
def test_reachable_vapid_subjects_are_accepted(subject):
    assert check_vapid_subject(subject) == subject


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("mailto:ops@localhost", "placeholder|public domain"),
        ("mailto:ops@shop.test", "placeholder"),
        ("mailto:ops@shop.example", "placeholder"),
        ("mailto:ops@example.com", "placeholder"),
        ("mailto:ops@mail.EXAMPLE.org", "placeholder"),
        ("mailto:ops@shop.invalid", "placeholder"),
        ("mailto:ops@printer.local", "placeholder"),
        ("mailto:ops@app.localhost", "placeholder"),
        ("https://example.net/contact", "placeholder"),
        ("https://shop.example.com", "placeholder"),
        ("https://localhost:8443", "placeholder|public domain"),
        ("mailto:ops@192.0.2.1", "public domain"),
        ("https://192.0.2.1/", "public domain"),
        ("ops@shop.co", "mailto"),
        ("http://shop.co", "mailto"),
        ("mailto:@shop.co", "one email address"),
        ("mailto:ops@", "one email address|public domain"),
        ("mailto:a@b@shop.co", "one email address"),
        ("mailto:ops@shop.co?subject=hi", "one email address|public domain"),
        ("mailto:o ps@shop.co", "spaces"),
        ("https://ops@shop.co/", "https"),
        ("", "characters"),
    ],
)
def test_placeholder_or_unreachable_vapid_subjects_are_refused(subject, message):
    with pytest.raises(ValueError, match=message):
        check_vapid_subject(subject)


# Payload


def test_a_payload_is_compact_utf8_json_without_absent_fields():
    payload = build_payload(title="Tu panier 🛒", body="Il t'attend", url=LINK)
    assert (
        payload
        == '{"title":"Tu panier 🛒","body":"Il t\'attend","url":"https://shop.co/cart"}'.encode()
    )
    full = json.loads(build_payload(title="t", body="b", url=LINK, icon=LINK, tag="cart-1"))
    assert full == {"title": "t", "body": "b", "url": LINK, "icon": LINK, "tag": "cart-1"}


@pytest.mark.parametrize("unit", ["é", "€", "😀", "a", '"', "\\", "\x01"])
def test_a_long_body_is_cut_on_a_character_boundary_to_the_longest_that_fits(unit):
    # Given a body far over the limit, in characters of 1 to 4 bytes (or escaped in JSON)
    body = unit * 5000
    payload = build_payload(title="Your cart", body=body, url=LINK, max_bytes=3000)

    # Then it fits, decodes, and keeps the title and link whole
    assert len(payload) <= 3000
    message = json.loads(payload.decode("utf-8"))
    assert message["title"] == "Your cart" and message["url"] == LINK
    assert message["body"].endswith(ELLIPSIS)
    kept = message["body"][: -len(ELLIPSIS)]
    assert body.startswith(kept) and len(kept) > 100

    # And one more character would not have fitted
    longer = dict(message, body=body[: len(kept) + 1] + ELLIPSIS)
    assert len(json.dumps(longer, ensure_ascii=False, separators=(",", ":")).encode()) > 3000


def test_a_cut_never_splits_accents_or_emoji_sequences():
    for cluster in ("e\u0301", "👩\u200d👩\u200d👧", "👍🏽", "❤\ufe0f"):
        payload = build_payload(title="t", body=cluster * 3000, url=LINK)
        body = json.loads(payload)["body"][: -len(ELLIPSIS)]
        assert len(body) % len(cluster) == 0, cluster
        assert body == cluster * (len(body) // len(cluster))


def test_the_title_is_cut_once_the_body_is_down_to_an_ellipsis():
    payload = build_payload(title="T" * 4000, body="B" * 4000, url=LINK, max_bytes=2400)
    message = json.loads(payload)
    assert len(payload) <= 2400
    assert message["body"] == ELLIPSIS
    assert message["title"].startswith("TTTT") and message["title"].endswith(ELLIPSIS)


def test_a_payload_under_the_limit_is_left_alone():
    body = "x" * 2000
    assert json.loads(build_payload(title="t", body=body, url=LINK))["body"] == body


def test_even_the_longest_links_and_tag_leave_room_at_the_smallest_limit():
    link = "https://shop.co/" + "p" * (1024 - len("https://shop.co/"))
    payload = build_payload(
        title="名" * 3000,
        body="本" * 3000,
        url=link,
        icon=link,
        tag="t" * 64,
        max_bytes=MIN_PAYLOAD_BYTES,
    )
    message = json.loads(payload)
    assert len(payload) <= MIN_PAYLOAD_BYTES
    assert (message["url"], message["icon"], message["tag"]) == (link, link, "t" * 64)


def test_text_that_is_not_valid_unicode_still_gives_utf8_json():
    payload = build_payload(title="a\ud800b", body="c\udfffd", url=LINK)
    assert json.loads(payload.decode("utf-8")) == {"title": "a?b", "body": "c?d", "url": LINK}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "javascript:alert(1)"),
        ("url", "ftp://shop.co/x"),
        ("url", "/cart"),
        ("url", 'https://shop.co/"><script>'),
        ("url", "https://shop.co/" + "a" * 1024),
        ("url", "https://user@shop.co/"),
        ("icon", "data:image/png;base64,AAAA"),
        ("icon", "https://shop.co/a b.png"),
    ],
)
def test_links_must_be_http_urls(field, value):
    arguments = {"title": "t", "body": "b", "url": LINK, field: value}
    with pytest.raises(ValueError, match=field):
        build_payload(**arguments)


@pytest.mark.parametrize("tag", ["", "t" * 65, "has space", "é"])
def test_a_tag_must_be_short_and_plain(tag):
    with pytest.raises(ValueError, match="tag"):
        build_payload(title="t", body="b", url=LINK, tag=tag)


def test_a_limit_too_small_for_the_links_is_a_programming_error():
    with pytest.raises(ValueError, match="max_bytes"):
        build_payload(title="t", body="b", url=LINK, max_bytes=MIN_PAYLOAD_BYTES - 1)


# Delivery options


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("cart_recovery", (4 * 3600, "normal")),
        ("reactivation", (24 * 3600, "low")),
        ("order_status", (3600, "high")),
        ("back_in_stock", (12 * 3600, "normal")),
        ("price_drop", (12 * 3600, "normal")),
        ("something_new", (12 * 3600, "normal")),
    ],
)
def test_each_kind_has_its_time_to_live_and_urgency(kind, expected):
    assert delivery_options(kind) == expected


# Push service answers


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, "delivered"),
        (201, "delivered"),
        (202, "delivered"),
        (204, "failed"),
        (301, "failed"),
        (400, "failed"),
        (401, "unauthorised"),
        (403, "unauthorised"),
        (404, "gone"),
        (408, "failed"),
        (410, "gone"),
        (413, "too_large"),
        (422, "failed"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (599, "retry"),
    ],
)
def test_each_status_means_one_thing_for_the_sender(status, kind):
    outcome = classify_push_response(status, None, NOW)
    assert outcome.kind == kind
    assert (outcome.retry_at is not None) == (kind == "retry")


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [
        (None, timedelta(seconds=60)),
        ("", timedelta(seconds=60)),
        ("120", timedelta(seconds=120)),
        (" 30 ", timedelta(seconds=30)),
        ("0", timedelta(0)),
        ("3600", timedelta(hours=1)),
        ("99999999999999999999999", timedelta(hours=1)),
        ("Wed, 01 May 2024 09:10:00 GMT", timedelta(minutes=10)),
        ("Wednesday, 01-May-24 09:00:45 GMT", timedelta(seconds=45)),  # RFC 850 form
        ("Wed, 01 May 2024 13:00:00 GMT", timedelta(hours=1)),  # capped
        ("Wed, 01 May 2024 08:00:00 GMT", timedelta(0)),  # already past
        ("Wed, 01 May 2024 11:05:00 +0200", timedelta(minutes=5)),
        ("-5", timedelta(seconds=60)),
        ("1.5", timedelta(seconds=60)),
        ("soon", timedelta(seconds=60)),
        ("٣٠", timedelta(seconds=60)),  # Arabic-Indic digits are not delta-seconds
    ],
)
def test_retry_after_as_seconds_or_a_date_is_honoured_within_an_hour(retry_after, delay):
    for status in (429, 503):
        assert classify_push_response(status, retry_after, NOW) == PushOutcome(
            "retry", retry_at=NOW + delay
        )


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [
        ("9" * 5000, timedelta(hours=1)),  # past int()'s 4300-digit limit
        ("1" + "0" * 10, timedelta(hours=1)),
        ("0" * 5000 + "30", timedelta(seconds=30)),  # leading zeros are still a number
        ("0" * 5000, timedelta(0)),
        ("Wed, 01 May " + "9" * 5000 + " 09:10:00 GMT", timedelta(seconds=60)),
        ("Wed, 01 May 2024 09:10:00 +" + "9" * 5000, timedelta(minutes=10)),
        ("Wed, 01 May 2024 09:10:00 +9999", timedelta(seconds=60)),
        ("1 Jan 1 00:00:00 +2359", timedelta(0)),
        ("31 Dec 9999 23:59:59 -2359", timedelta(hours=1)),
        ("\x00" * 5000, timedelta(seconds=60)),
    ],
)
def test_any_retry_after_value_gives_an_outcome_never_an_exception(retry_after, delay):
    # Given a push service answering 429 with a hostile or broken Retry-After
    # When the answer is classified, Then it is a retry within the hour
    assert classify_push_response(429, retry_after, NOW) == PushOutcome(
        "retry", retry_at=NOW + delay
    )


def test_now_must_carry_a_time_zone():
    with pytest.raises(ValueError, match="timezone"):
        classify_push_response(429, "10", NOW.replace(tzinfo=None))
