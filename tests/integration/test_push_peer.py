"""The web push client against a real push service on 127.0.0.1 (the push peer): real HTTP,
real aes128gcm encryption decrypted with the subscriber's private key, real VAPID tokens
verified with the sender's public key."""

import base64
import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from comeback.adapters.email import TransientSendError
from comeback.adapters.webpush import (
    MAX_PLAINTEXT_BYTES,
    DeliveryUnknown,
    NoRedirectSession,
    VapidKeys,
    WebPushClient,
)
from comeback.domain.push import build_payload, classify_push_response, delivery_options
from comeback.local.push_peer import PushPeer
from py_vapid.jwt import sign as sign_jwt
from pywebpush import WebPusher

SUBJECT = "mailto:push-ops@shop.co"
KEYS = VapidKeys.generate(SUBJECT)
OTHER_KEYS = VapidKeys.generate("https://other-shop.co/contact")
LINK = "https://shop.co/cart"
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def peer():
    with PushPeer.start() as running:
        yield running


@pytest.fixture
def client():
    sender = WebPushClient(KEYS, timeout=5.0)
    yield sender
    sender.close()


def payload_for(name: str) -> bytes:
    body = "Ton panier t'attend 🛒 — à bientôt"
    return build_payload(title=f"Pour {name}", body=body, url=LINK)


def post_raw(subscriber, headers: dict[str, str], data: bytes = b"hello") -> int:
    """A POST through pywebpush's encryption with exactly the headers given (no VAPID)."""
    info = {
        "endpoint": subscriber.subscription.endpoint,
        "keys": {"p256dh": subscriber.subscription.p256dh, "auth": subscriber.subscription.auth},
    }
    return WebPusher(info).send(data, dict(headers), ttl=60, timeout=5).status_code


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# The client and the push service together


def test_each_answer_is_classified_and_delivered_messages_decrypt_to_what_was_sent(peer, client):
    # Given four browsers whose push service answers differently
    subscribers = {
        "accepted": peer.new_subscriber([201]),
        "gone": peer.new_subscriber([410]),
        "too_large": peer.new_subscriber([413]),
        "busy": peer.new_subscriber([(429, {"Retry-After": "7"}), 201]),
    }
    ttl, urgency = delivery_options("cart_recovery")
    now = datetime.now(UTC)

    # When a message goes to each
    results = {
        name: client.send(sub.subscription, payload_for(name), ttl=ttl, urgency=urgency, now=now)
        for name, sub in subscribers.items()
    }
    outcomes = {
        name: classify_push_response(result.status, result.retry_after, now)
        for name, result in results.items()
    }

    # Then each answer means what it should
    assert {name: outcome.kind for name, outcome in outcomes.items()} == {
        "accepted": "delivered",
        "gone": "gone",
        "too_large": "too_large",
        "busy": "retry",
    }
    assert outcomes["busy"].retry_at == now + timedelta(seconds=7)
    assert results["accepted"].location.startswith(peer.origin + "/message/")

    # And the retry goes through while a gone subscription stays gone
    again = {name: subscribers[name] for name in ("busy", "gone")}
    for name, sub in again.items():
        result = client.send(sub.subscription, payload_for(name), ttl=ttl, urgency=urgency, now=now)
        assert result.status == {"busy": 201, "gone": 410}[name]

    # And the browsers decrypted exactly what was sent, once per delivery
    assert peer.received(subscribers["accepted"]) == [payload_for("accepted")]
    assert peer.received(subscribers["busy"]) == [payload_for("busy")]
    assert peer.received(subscribers["gone"]) == []
    assert peer.received(subscribers["too_large"]) == []
    # (a subscription already gone is refused before its message is read)
    names = {sub.endpoint_id: name for name, sub in subscribers.items()}
    attempts = peer.attempts
    assert [(names[a.endpoint_id], a.status) for a in attempts] == [
        ("accepted", 201),
        ("gone", 410),
        ("too_large", 413),
        ("busy", 429),
        ("busy", 201),
        ("gone", 410),
    ]
    for attempt in attempts:
        assert (attempt.ttl, attempt.urgency) == (str(ttl), urgency)
        assert attempt.vapid_key == KEYS.public_key
        assert attempt.claims["sub"] == SUBJECT and attempt.claims["aud"] == peer.origin
    for attempt in attempts[:-1]:
        assert attempt.plaintext == payload_for(names[attempt.endpoint_id])
    assert attempts[-1].plaintext is None


def test_one_client_gives_each_push_service_its_own_audience():
    # Given two push services on different ports and one client for both
    with PushPeer.start() as first, PushPeer.start() as second:
        client = WebPushClient(KEYS)
        now = datetime.now(UTC)

        # When messages alternate between them
        for peer in (first, second, first, second):
            subscriber = peer.new_subscriber()
            result = client.send(subscriber.subscription, b"{}", ttl=60, urgency="normal", now=now)
            # Then each accepts (a token for the other would be refused)
            assert result.status == 201

        # And each saw only tokens for its own origin
        assert first.origin != second.origin
        assert [a.claims["aud"] for a in first.attempts] == [first.origin] * 2
        assert [a.claims["aud"] for a in second.attempts] == [second.origin] * 2
        client.close()


def test_a_signed_header_is_reused_within_its_life_and_replaced_when_stale():
    # Given a push service on the same simulated clock as the sender
    clock = [T0]
    with PushPeer.start(clock=lambda: clock[0]) as peer:
        client = WebPushClient(KEYS, claim_lifetime=timedelta(hours=12))
        subscriber = peer.new_subscriber()

        # When messages go out over a day
        for offset in (0, 5 * 60, 10 * 60 + 59, 11 * 60 + 1, 12 * 60, 22 * 60 + 30):
            clock[0] = T0 + timedelta(minutes=offset)
            result = client.send(
                subscriber.subscription, b"{}", ttl=60, urgency="low", now=clock[0]
            )
            assert result.status == 201

        # Then a token is reused while it has an hour left, and the next one is fresh
        expiries = [datetime.fromtimestamp(a.claims["exp"], UTC) for a in peer.attempts]
        first = T0 + timedelta(hours=12)
        second = T0 + timedelta(hours=11, minutes=1) + timedelta(hours=12)
        third = T0 + timedelta(hours=22, minutes=30) + timedelta(hours=12)
        assert expiries == [first, first, first, second, second, third]
        client.close()


def test_the_cached_header_is_the_same_string_until_stale_and_follows_a_clock_step_back():
    client = WebPushClient(KEYS)
    audience = "https://fcm.googleapis.com"
    issued = client.authorization(audience, T0)
    assert client.authorization(audience, T0 + timedelta(hours=11)) == issued
    assert client.authorization(audience, T0 + timedelta(hours=11, seconds=1)) != issued
    # A clock stepping back would leave a token expiring more than its lifetime ahead
    later = client.authorization(audience, T0 + timedelta(hours=11, seconds=1))
    assert client.authorization(audience, T0) != later
    # Each audience has its own token
    assert client.authorization("https://web.push.apple.com", T0) != client.authorization(
        audience, T0
    )
    client.close()


def test_an_unreachable_push_service_is_a_transient_error(client):
    peer = PushPeer.start()
    subscriber = peer.new_subscriber()
    peer.stop()
    with pytest.raises(TransientSendError):
        client.send(subscriber.subscription, b"{}", ttl=60, urgency="normal", now=datetime.now(UTC))


@contextmanager
def http_server(status: int, headers: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 answering every POST with `status`: its origin, and the paths
    of the requests it received."""
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_redirect_is_an_answer_and_is_never_followed(peer, client):
    # Given a push endpoint that answers 307 to another server
    subscriber = peer.new_subscriber()
    with (
        http_server(201, {}) as (elsewhere, elsewhere_received),
        http_server(307, {"Location": f"{elsewhere}/collect"}) as (origin, received),
    ):
        subscription = dataclasses.replace(subscriber.subscription, endpoint=f"{origin}/push/a")
        # When a message is sent to it
        result = client.send(subscription, b"{}", ttl=60, urgency="normal", now=datetime.now(UTC))
    # Then the 307 is the answer, the other server heard nothing, and the sender gives up
    assert result.status == 307
    assert received == ["/push/a"]
    assert elsewhere_received == []
    assert classify_push_response(result.status, None, datetime.now(UTC)).kind == "failed"


def test_only_a_session_that_never_follows_redirects_is_accepted():
    with pytest.raises(TypeError, match="redirects"):
        WebPushClient(KEYS, session=requests.Session())  # type: ignore[arg-type]
    WebPushClient(KEYS, session=NoRedirectSession()).close()


def test_a_connection_closed_after_the_request_is_an_unknown_delivery(peer, client):
    # Given a push service that reads the whole request, then hangs up without an answer
    subscriber = peer.new_subscriber()
    listener = socket.create_server(("127.0.0.1", 0))
    bodies: list[bytes] = []

    def read_then_hang_up() -> None:
        connection, _ = listener.accept()
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            while len(body) < length:
                body += connection.recv(65536)
            bodies.append(body)

    thread = threading.Thread(target=read_then_hang_up, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    subscription = dataclasses.replace(
        subscriber.subscription, endpoint=f"http://127.0.0.1:{port}/push/a"
    )
    # When a message is sent, Then the client cannot say whether it was delivered
    with listener, pytest.raises(DeliveryUnknown):
        client.send(subscription, b"{}", ttl=60, urgency="normal", now=datetime.now(UTC))
    thread.join(timeout=5)
    assert len(bodies) == 1 and bodies[0]  # the request had gone out in full


def test_a_closed_port_is_a_transient_error(peer, client):
    # Given a port on which nothing listens
    subscriber = peer.new_subscriber()
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    subscription = dataclasses.replace(
        subscriber.subscription, endpoint=f"http://127.0.0.1:{port}/push/a"
    )
    # When a message is sent, Then nothing was delivered and a retry is safe
    with pytest.raises(TransientSendError):
        client.send(subscription, b"{}", ttl=60, urgency="normal", now=datetime.now(UTC))


def test_the_largest_plaintext_fits_the_4096_byte_body_limit(peer, client):
    subscriber = peer.new_subscriber()
    largest = b"x" * MAX_PLAINTEXT_BYTES
    result = client.send(
        subscriber.subscription, largest, ttl=0, urgency="high", now=datetime.now(UTC)
    )
    assert result.status == 201
    assert peer.received(subscriber) == [largest]
    with pytest.raises(ValueError, match="payload"):
        client.send(
            subscriber.subscription, largest + b"x", ttl=0, urgency="high", now=datetime.now(UTC)
        )


def test_a_topic_travels_as_a_header(peer, client):
    subscriber = peer.new_subscriber()
    now = datetime.now(UTC)
    client.send(subscriber.subscription, b"{}", ttl=60, urgency="normal", now=now, topic="cart-42")
    assert peer.attempts[-1].topic == "cart-42"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"urgency": "urgent"}, "urgency"),
        ({"ttl": -1}, "ttl"),
        ({"ttl": True}, "ttl"),
        ({"payload": b""}, "payload"),
        ({"topic": "has space"}, "topic"),
        ({"topic": "t" * 33}, "topic"),
    ],
)
def test_bad_send_arguments_are_refused_before_any_request(peer, client, arguments, message):
    subscriber = peer.new_subscriber()
    call = {"payload": b"{}", "ttl": 60, "urgency": "normal", "now": datetime.now(UTC)}
    call.update(arguments)
    with pytest.raises(ValueError, match=message):
        client.send(subscriber.subscription, **call)
    assert peer.attempts == []


# The push service's checks on VAPID tokens


def test_absent_tampered_or_misdirected_tokens_are_refused(peer):
    # Given a subscriber and a valid token (which works, so the helper is sound)
    subscriber = peer.new_subscriber()
    now = datetime.now(UTC)
    client = WebPushClient(KEYS)
    valid = client.authorization(peer.origin, now)
    assert post_raw(subscriber, {"Authorization": valid}) == 201

    token = valid.split("t=", 1)[1].split(",", 1)[0]
    jose, claims, signature = token.split(".")
    moved = b64(json.dumps({**json.loads(unb64(claims)), "aud": "http://127.0.0.1:1"}).encode())
    flipped = signature[:20] + ("A" if signature[20] != "A" else "B") + signature[21:]
    long_lived = WebPushClient(KEYS, claim_lifetime=timedelta(hours=23))
    unsigned_sub = sign_jwt(
        {"aud": peer.origin, "exp": int(now.timestamp()) + 600, "sub": "push-ops@shop.co"},
        KEYS.signing_key(),
    )
    refused = {
        "absent": None,
        "empty": "",
        "other scheme": valid.replace("vapid ", "WebPush ", 1),
        "no key": f"vapid t={token}",
        "claims changed": f"vapid t={jose}.{moved}.{signature}, k={KEYS.public_key}",
        "signature changed": f"vapid t={jose}.{claims}.{flipped}, k={KEYS.public_key}",
        "other key": f"vapid t={token}, k={OTHER_KEYS.public_key}",
        "other audience": client.authorization("http://127.0.0.1:1", now),
        "expired": client.authorization(peer.origin, now - timedelta(hours=13)),
        "over 24 h": long_lived.authorization(peer.origin, now + timedelta(hours=2)),
        "sub not a contact": f"vapid t={unsigned_sub}, k={KEYS.public_key}",
        "garbage": "vapid t=a.b.c, k=!!",
    }

    # When each is sent, Then each is refused with 401 and nothing is delivered
    for name, header in refused.items():
        headers = {} if header is None else {"Authorization": header}
        assert post_raw(subscriber, headers) == 401, name
    assert peer.received(subscriber) == [b"hello"]
    assert [a.status for a in peer.attempts] == [201] + [401] * len(refused)
    assert all(a.plaintext is None for a in peer.attempts[1:])


def test_a_token_from_another_application_server_key_is_forbidden(peer):
    subscriber = peer.new_subscriber(application_server_key=KEYS.public_key)
    now = datetime.now(UTC)
    other = WebPushClient(OTHER_KEYS).send(
        subscriber.subscription, b"{}", ttl=60, urgency="normal", now=now
    )
    ours = WebPushClient(KEYS).send(
        subscriber.subscription, b"{}", ttl=60, urgency="normal", now=now
    )
    assert (other.status, ours.status) == (403, 201)
    assert classify_push_response(other.status, None, now).kind == "unauthorised"


# The push service's other checks


def test_unknown_paths_get_404_and_big_bodies_413(peer):
    subscriber = peer.new_subscriber()
    authorization = WebPushClient(KEYS).authorization(peer.origin, datetime.now(UTC))
    headers = {"Authorization": authorization, "Content-Encoding": "aes128gcm", "TTL": "60"}

    def status(url: str, size: int) -> int:
        return requests.post(url, data=b"x" * size, headers=headers, timeout=5).status_code

    for path in ("/push/nobody", "/", "/push/", "/push/nobody/../"):
        assert status(peer.origin + path, 1) == 404
    endpoint = subscriber.subscription.endpoint
    assert status(endpoint, 4097) == 413
    assert status(endpoint, 100_000) == 413
    # A body of exactly 4096 bytes is let through to decryption (and fails there)
    assert status(endpoint, 4096) == 400
    assert [a.reason for a in peer.attempts][-3:] == [
        "body over 4096 bytes",
        "body over 4096 bytes",
        "cannot decrypt: the aes128gcm header does not carry a P-256 sender key",
    ]


def test_wrong_encoding_missing_ttl_and_corrupt_bodies_are_refused(peer):
    subscriber = peer.new_subscriber()
    info = {
        "endpoint": subscriber.subscription.endpoint,
        "keys": {"p256dh": subscriber.subscription.p256dh, "auth": subscriber.subscription.auth},
    }
    body = WebPusher(info).encode(b"hello")["body"]
    authorization = WebPushClient(KEYS).authorization(peer.origin, datetime.now(UTC))
    good = {"Authorization": authorization, "Content-Encoding": "aes128gcm", "TTL": "60"}

    def post(headers, data=body):
        return requests.post(
            subscriber.subscription.endpoint, data=data, headers=headers, timeout=5
        )

    corrupt = body[:-1] + bytes([body[-1] ^ 1])
    assert post({**good, "Content-Encoding": "aesgcm"}).status_code == 400
    assert post({k: v for k, v in good.items() if k != "TTL"}).status_code == 400
    assert post({**good, "TTL": "soon"}).status_code == 400
    assert post({**good, "Urgency": "urgent"}).status_code == 400
    assert post(good, corrupt).status_code == 400
    assert peer.received(subscriber) == []
    assert post(good).status_code == 201
    assert peer.received(subscriber) == [b"hello"]


def test_concurrent_senders_are_all_recorded_and_nothing_is_printed(capfd):
    with PushPeer() as peer:  # entering also starts it
        subscribers = [peer.new_subscriber() for _ in range(4)]
        client = WebPushClient(KEYS)
        now = datetime.now(UTC)
        statuses = []

        def send_five(subscriber):
            for number in range(5):
                payload = json.dumps({"n": number}).encode()
                result = client.send(
                    subscriber.subscription, payload, ttl=60, urgency="normal", now=now
                )
                statuses.append(result.status)  # list.append is atomic

        threads = [threading.Thread(target=send_five, args=(s,)) for s in subscribers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [201] * 20
        assert len(peer.attempts) == 20
        assert len(set(subscribers)) == 4  # subscribers can key a dict
        for subscriber in subscribers:
            assert sorted(peer.received(subscriber)) == [
                json.dumps({"n": n}).encode() for n in range(5)
            ]
        client.close()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


# VAPID keys


def test_generated_keys_round_trip_through_json_and_hide_the_private_key():
    keys = VapidKeys.generate("https://shop.co/contact")
    assert len(unb64(keys.private_key)) == 32
    public = unb64(keys.public_key)
    assert len(public) == 65 and public[0] == 4
    assert VapidKeys.from_json(keys.to_json()) == keys
    assert keys.private_key not in repr(keys)
    assert VapidKeys.generate("mailto:a@shop.co") != VapidKeys.generate("mailto:a@shop.co")


@pytest.mark.parametrize(
    "subject", ["mailto:ops@example.com", "https://localhost", "ops@shop.co", "https://x.test"]
)
def test_keys_are_not_made_for_a_placeholder_subject(subject):
    with pytest.raises(ValueError, match="subject"):
        VapidKeys.generate(subject)


def keys_json(**changes):
    return json.dumps({**json.loads(KEYS.to_json()), **changes})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "JSON"),
        ("[]", "strings"),
        (json.dumps({"private_key": KEYS.private_key, "public_key": KEYS.public_key}), "strings"),
        (keys_json(public_key=OTHER_KEYS.public_key), "belong"),
        (keys_json(private_key=b64(b"\x01" * 31)), "32-byte"),
        (keys_json(private_key=b64(b"\x00" * 32)), "scalar"),
        (keys_json(private_key=b64(b"\xff" * 32)), "scalar"),
        (keys_json(private_key=KEYS.private_key + "="), "base64url"),
        (keys_json(private_key="!" * 43), "base64url"),
        (keys_json(subject="ops@shop.co"), "subject"),
        (keys_json(subject=42), "strings"),
    ],
)
def test_stored_keys_that_do_not_hold_together_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        VapidKeys.from_json(text)


def test_local_keys_name_no_one_and_work_with_the_push_peer(peer):
    keys = VapidKeys.from_json(VapidKeys.generate_local().to_json())
    assert keys.subject.endswith(".localhost")
    with pytest.raises(ValueError, match="placeholder"):
        VapidKeys.generate(keys.subject)  # only local keys may carry it
    subscriber = peer.new_subscriber()
    result = WebPushClient(keys).send(
        subscriber.subscription, b"{}", ttl=60, urgency="normal", now=datetime.now(UTC)
    )
    assert result.status == 201
    assert peer.attempts[-1].claims["sub"] == keys.subject


@pytest.mark.parametrize("lifetime", [timedelta(hours=24), timedelta(hours=1), timedelta(0)])
def test_a_token_lifetime_must_be_between_one_and_twenty_four_hours(lifetime):
    with pytest.raises(ValueError, match="claim_lifetime"):
        WebPushClient(KEYS, claim_lifetime=lifetime)
