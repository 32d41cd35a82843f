"""A real web push service on 127.0.0.1, for local runs and tests.

It plays both ends a browser vendor would: the push service (RFC 8030), which checks the
sender's VAPID token (RFC 8292) and answers with a status, and the browser behind each
subscription, which holds the private key and decrypts the message (RFC 8291). So a test can
tell that what we sent is what a browser would show, and that a push service would have let
us send it, without anything leaving the machine.

Each subscriber can be given a script of answers (429 with Retry-After, 410, 5xx...) to drive
the sender's error handling through real HTTP.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from comeback.domain.push import PushSubscription

PUSH_PATH = "/push/"
# Push services must accept bodies of 4096 bytes and may refuse larger ones (RFC 8030 7.2).
MAX_BODY_BYTES = 4096
# Larger bodies are read and thrown away up to this size, so the client sees our 413 rather
# than a connection reset; beyond it the connection is closed.
DISCARD_LIMIT_BYTES = 1024 * 1024
MAX_TOKEN_LIFETIME = timedelta(hours=24)
AUTH_SECRET_BYTES = 16
P256_POINT_BYTES = 65
DEFAULT_STATUS = 201
GONE_STATUSES = frozenset({404, 410})
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
_TTL = re.compile(r"[0-9]{1,10}")
_TOPIC = re.compile(r"[A-Za-z0-9\-_]{1,32}")
_B64URL = re.compile(r"[A-Za-z0-9\-_]+")

ResponseSpec = int | tuple[int, Mapping[str, str]]


@dataclass(frozen=True)
class PushAttempt:
    """One POST the peer answered, with why (`reason`) and what it could read from it."""

    endpoint_id: str | None
    status: int
    reason: str
    ttl: str | None = None
    urgency: str | None = None
    topic: str | None = None
    vapid_key: str | None = None
    claims: Mapping[str, Any] | None = None
    plaintext: bytes | None = None


@dataclass(frozen=True)
class Subscriber:
    """A browser's side of one subscription: the subscription it would hand to a shop, and
    the private key and auth secret it keeps to itself."""

    endpoint_id: str
    subscription: PushSubscription
    # Compared and hashed by endpoint only, so subscribers can key a dict in tests.
    private_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    auth_secret: bytes = field(repr=False, compare=False)
    application_server_key: str | None = field(default=None, compare=False)

    def decrypt(self, body: bytes) -> bytes:
        """The plaintext of an aes128gcm body, as the browser would read it.

        No `dh` is passed: in aes128gcm the sender's public key travels in the body's
        header (the key id) and http_ece takes it from there.
        """
        if len(body) < 21 or body[20] != P256_POINT_BYTES:
            raise ValueError("the aes128gcm header does not carry a P-256 sender key")
        try:
            return http_ece.decrypt(
                body,
                private_key=self.private_key,
                auth_secret=self.auth_secret,
                version="aes128gcm",
            )
        except http_ece.ECEException as exc:
            raise ValueError(exc.message) from None


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class PushPeer:
    """The push service. Start with `PushPeer.start()`; use as a context manager to stop.

    `clock` is what "now" is for checking token expiry, so a test on a simulated clock can
    move both the sender and the peer together.
    """

    def __init__(self, *, port: int = 0, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._subscribers: dict[str, Subscriber] = {}
        self._scripts: dict[str, deque[ResponseSpec]] = {}
        self._gone: set[str] = set()
        self._attempts: list[PushAttempt] = []
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.peer = self
        self._thread: threading.Thread | None = None
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"

    @classmethod
    def start(cls, *, port: int = 0, clock: Callable[[], datetime] | None = None) -> PushPeer:
        return cls(port=port, clock=clock)._serve()

    def _serve(self) -> PushPeer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> PushPeer:
        return self._serve()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def new_subscriber(
        self,
        responses: Sequence[ResponseSpec] = (),
        *,
        application_server_key: str | None = None,
    ) -> Subscriber:
        """A new browser subscription, answering POSTs with `responses` in turn, then 201.

        With `application_server_key`, tokens signed by any other VAPID key get 403, as real
        push services do for a subscription made with a different key.
        """
        for spec in responses:
            status = spec[0] if isinstance(spec, tuple) else spec
            if not isinstance(status, int) or not 100 <= status <= 599:
                raise ValueError(f"not an HTTP status: {spec!r}")
        private_key = ec.generate_private_key(ec.SECP256R1())
        public = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        auth_secret = os.urandom(AUTH_SECRET_BYTES)
        endpoint_id = secrets.token_urlsafe(18)
        subscriber = Subscriber(
            endpoint_id=endpoint_id,
            subscription=PushSubscription(
                endpoint=f"{self.origin}{PUSH_PATH}{endpoint_id}",
                p256dh=_b64encode(public),
                auth=_b64encode(auth_secret),
            ),
            private_key=private_key,
            auth_secret=auth_secret,
            application_server_key=application_server_key,
        )
        with self._lock:
            self._subscribers[endpoint_id] = subscriber
            self._scripts[endpoint_id] = deque(responses)
        return subscriber

    @property
    def attempts(self) -> list[PushAttempt]:
        with self._lock:
            return list(self._attempts)

    def received(self, subscriber: Subscriber) -> list[bytes]:
        """The plaintexts delivered to `subscriber` (answered 2xx), oldest first."""
        return [
            attempt.plaintext
            for attempt in self.attempts
            if attempt.endpoint_id == subscriber.endpoint_id
            and 200 <= attempt.status <= 299
            and attempt.plaintext is not None
        ]

    def _answer(
        self, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str]]:
        """Status and extra headers for one POST, recording the attempt. `body` is None when
        it was over MAX_BODY_BYTES and thrown away."""
        endpoint_id = path[len(PUSH_PATH) :] if path.startswith(PUSH_PATH) else None
        with self._lock:
            subscriber = self._subscribers.get(endpoint_id or "")
        seen: dict[str, Any] = {
            "ttl": headers.get("TTL"),
            "urgency": headers.get("Urgency"),
            "topic": headers.get("Topic"),
        }
        try:
            if subscriber is None:
                raise _Refused(404, "unknown endpoint")
            if body is None:
                raise _Refused(413, "body over 4096 bytes")
            seen["vapid_key"], seen["claims"] = self._check_vapid(
                headers.get("Authorization"), subscriber
            )
            with self._lock:
                if subscriber.endpoint_id in self._gone:
                    raise _Refused(410, "subscription gone")
            _check_push_headers(headers)
            try:
                seen["plaintext"] = subscriber.decrypt(body)
            except ValueError as exc:
                raise _Refused(400, f"cannot decrypt: {exc}") from None
        except _Refused as refused:
            self._record(PushAttempt(endpoint_id, refused.status, refused.reason, **seen))
            return refused.status, {}
        with self._lock:
            script = self._scripts[subscriber.endpoint_id]
            reason = "scripted" if script else "accepted"
            spec = script.popleft() if script else DEFAULT_STATUS
            status, extra = spec if isinstance(spec, tuple) else (spec, {})
            if status in GONE_STATUSES:
                self._gone.add(subscriber.endpoint_id)
            self._attempts.append(PushAttempt(endpoint_id, status, reason, **seen))
        answer = dict(extra)
        if status == DEFAULT_STATUS:
            answer.setdefault("Location", f"{self.origin}/message/{secrets.token_urlsafe(12)}")
        return status, answer

    def _record(self, attempt: PushAttempt) -> None:
        with self._lock:
            self._attempts.append(attempt)

    def _check_vapid(
        self, header: str | None, subscriber: Subscriber
    ) -> tuple[str, dict[str, Any]]:
        """The VAPID key and verified claims of an `Authorization: vapid t=..., k=...` header.

        The signature is checked before any claim is believed; then the audience must be this
        peer's origin exactly and the expiry within the next 24 hours (RFC 8292 section 2).
        """
        if not header:
            raise _Refused(401, "no Authorization header")
        scheme, _, rest = header.strip().partition(" ")
        params: dict[str, str] = {}
        for item in rest.split(","):
            name, equals, value = item.partition("=")
            name = name.strip().lower()
            if not equals or name in params:
                raise _Refused(401, "malformed vapid parameters")
            params[name] = value.strip()
        if scheme.lower() != "vapid" or set(params) != {"t", "k"}:
            raise _Refused(401, "not a vapid t=..., k=... header")
        key_b64, token = params["k"], params["t"]
        try:
            public_key = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), _b64decode(key_b64)
            )
            encoded_header, encoded_claims, encoded_signature = token.split(".")
            jose = json.loads(_b64decode(encoded_header))
            signature = _b64decode(encoded_signature)
            if not isinstance(jose, dict) or jose.get("alg") != "ES256" or len(signature) != 64:
                raise _Refused(401, "token is not ES256")
            public_key.verify(
                encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                ),
                f"{encoded_header}.{encoded_claims}".encode("ascii"),
                ec.ECDSA(hashes.SHA256()),
            )
            claims = json.loads(_b64decode(encoded_claims))
        except InvalidSignature:
            raise _Refused(401, "bad token signature") from None
        except (ValueError, UnicodeError):
            raise _Refused(401, "malformed token or key") from None
        if not isinstance(claims, dict):
            raise _Refused(401, "claims are not an object")
        _check_claims(claims, audience=self.origin, now=self._clock())
        expected_key = subscriber.application_server_key
        if expected_key is not None and key_b64 != expected_key:
            raise _Refused(403, "token signed by another application server key")
        return key_b64, claims


def _check_claims(claims: Mapping[str, Any], *, audience: str, now: datetime) -> None:
    if claims.get("aud") != audience:
        raise _Refused(401, "aud is not this push service")
    expires = claims.get("exp")
    if isinstance(expires, bool) or not isinstance(expires, int):
        raise _Refused(401, "exp is not a number")
    moment = now.timestamp()
    if expires <= moment:
        raise _Refused(401, "token expired")
    if expires > moment + MAX_TOKEN_LIFETIME.total_seconds():
        raise _Refused(401, "exp more than 24 hours ahead")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.lower().startswith(("mailto:", "https:")):
        raise _Refused(401, "sub is not a mailto: or https: contact")


def _check_push_headers(headers: Mapping[str, str]) -> None:
    if (headers.get("Content-Encoding") or "").strip().lower() != "aes128gcm":
        raise _Refused(400, "Content-Encoding must be aes128gcm")
    if not _TTL.fullmatch(headers.get("TTL") or ""):
        raise _Refused(400, "TTL header missing or not a number")
    urgency = headers.get("Urgency")
    if urgency is not None and urgency not in URGENCIES:
        raise _Refused(400, "unknown Urgency")
    topic = headers.get("Topic")
    if topic is not None and not _TOPIC.fullmatch(topic):
        raise _Refused(400, "Topic must be 1 to 32 base64url characters")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict unpadded base64url, as JWTs and VAPID keys are written."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None


class _Server(ThreadingHTTPServer):
    peer: PushPeer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hang up; anything else is a bug worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self._reply(411, {})
            return
        length = int(length_header)
        if length > DISCARD_LIMIT_BYTES:
            self.close_connection = True
            body = None
        else:
            data = self.rfile.read(length)
            body = data if length <= MAX_BODY_BYTES else None
        path = urlsplit(self.path).path
        status, headers = self.server.peer._answer(path, self.headers, body)
        self._reply(status, headers)

    def _reply(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests and local runs print their own summaries."""
