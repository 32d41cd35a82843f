"""Sending web push messages (RFC 8030) through pywebpush, with VAPID (RFC 8292) tokens we
sign and cache ourselves.

pywebpush can sign VAPID tokens itself, but it writes `aud` and `exp` into the claims dict it
is given (so a shared dict sends one push service's audience to the next), it signs anew on
every call, and py_vapid's checks refuse valid values: an `https:` subject with a path, and
any IPv6 audience. So the token is built here, one per push service origin, reused while it
has at least an hour left, and handed to pywebpush as a plain header; pywebpush does the
aes128gcm encryption (RFC 8291) and the HTTP request.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests
import urllib3.exceptions
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.jwt import sign as sign_jwt
from pywebpush import WebPushException, webpush

from comeback.adapters.email import DeliveryUnknown, PermanentSendError, TransientSendError
from comeback.domain.push import PushSubscription, check_vapid_subject, push_service_origin

PRIVATE_KEY_BYTES = 32
PUBLIC_KEY_BYTES = 65
# Push services refuse tokens that expire more than 24 hours ahead (RFC 8292 section 2).
MAX_CLAIM_LIFETIME = timedelta(hours=24)
# A cached token is replaced once less than this is left, so a slow request or a push
# service's clock running ahead never sees it expire in flight.
REFRESH_MARGIN = timedelta(hours=1)
DEFAULT_CLAIM_LIFETIME = timedelta(hours=12)
LOCAL_SUBJECT = "mailto:push@comeback.localhost"
DEFAULT_TIMEOUT_SECONDS = 10.0
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
# One aes128gcm record of 4096 bytes (the body size push services must accept) holds this much
# plaintext: 4096 - 86 (salt, record size, key id) - 16 (tag) - 1 (delimiter).
MAX_PLAINTEXT_BYTES = 3993
_TOPIC = re.compile(r"[A-Za-z0-9\-_]{1,32}")


@dataclass(frozen=True)
class VapidKeys:
    """The application server's VAPID identity; its JSON is the value of a secret.

    `public_key` is also the `applicationServerKey` the shop's pages subscribe with, so a
    new key pair orphans every existing subscription: generate once, keep in the secret.
    """

    private_key: str = field(repr=False)  # raw 32-byte scalar, unpadded base64url
    public_key: str  # uncompressed P-256 point, unpadded base64url
    subject: str

    def __post_init__(self) -> None:
        # Only the form push services insist on: placeholder domains are refused where a
        # subject is chosen (`generate`, the CLI), so that local keys can name no one.
        if not isinstance(self.subject, str) or not self.subject.lower().startswith(
            ("mailto:", "https://")
        ):
            raise ValueError("the VAPID subject must be a mailto: address or an https:// URL")
        derived = _public_bytes(self.signing_key())
        if _b64decode(self.public_key, "public_key") != derived:
            raise ValueError("VAPID public_key does not belong to private_key")

    @classmethod
    def generate(cls, subject: str) -> VapidKeys:
        """A new key pair for `subject`, which must be a contact push services can reach."""
        return cls(*_new_key_pair(), subject=check_vapid_subject(subject))

    @classmethod
    def generate_local(cls) -> VapidKeys:
        """Keys for local runs, whose subject is a placeholder on purpose: their tokens only
        ever reach the push peer on 127.0.0.1, and no real person should be named."""
        return cls(*_new_key_pair(), subject=LOCAL_SUBJECT)

    def to_json(self) -> str:
        return json.dumps(
            {
                "private_key": self.private_key,
                "public_key": self.public_key,
                "subject": self.subject,
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> VapidKeys:
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            raise ValueError("VAPID keys are not valid JSON") from None
        names = ("private_key", "public_key", "subject")
        if not isinstance(value, dict) or not all(isinstance(value.get(n), str) for n in names):
            raise ValueError("VAPID keys need private_key, public_key and subject as strings")
        return cls(**{name: value[name] for name in names})

    def signing_key(self) -> ec.EllipticCurvePrivateKey:
        scalar = _b64decode(self.private_key, "private_key")
        if len(scalar) != PRIVATE_KEY_BYTES:
            raise ValueError("VAPID private_key must be a 32-byte P-256 scalar")
        try:
            return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
        except ValueError:
            raise ValueError("VAPID private_key is not a valid P-256 scalar") from None


class NoRedirectSession(requests.Session):
    """A session that never follows a redirect: a 3xx is the answer, not a new request.

    Push endpoints are held to a list of push services; following a redirect would POST the
    message to wherever the Location names, past that list.
    """

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


@dataclass(frozen=True)
class PushResult:
    """A push service's answer, for `comeback.domain.push.classify_push_response`."""

    status: int
    retry_after: str | None = None
    location: str | None = None  # the push message resource (RFC 8030 section 5)


@dataclass(frozen=True)
class _SignedHeader:
    value: str
    expires: datetime


class WebPushClient:
    """Sends encrypted push messages; one instance per process, reused across invocations.

    Raises TransientSendError when no connection to the push service could be opened (retry
    later), DeliveryUnknown when the request went out but no answer came back (never retry),
    and PermanentSendError when pywebpush refuses the subscription before sending. Any HTTP
    answer, a redirect included (it is never followed), comes back as a PushResult.
    """

    def __init__(
        self,
        keys: VapidKeys,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        claim_lifetime: timedelta = DEFAULT_CLAIM_LIFETIME,
        session: NoRedirectSession | None = None,
    ) -> None:
        if not REFRESH_MARGIN < claim_lifetime < MAX_CLAIM_LIFETIME:
            raise ValueError("claim_lifetime must be more than 1 hour and less than 24 hours")
        if session is not None and not isinstance(session, NoRedirectSession):
            raise TypeError("session must be a NoRedirectSession: redirects must not be followed")
        self._keys = keys
        self._signing_key = keys.signing_key()
        self._timeout = timeout
        self._claim_lifetime = claim_lifetime
        self._session = session if session is not None else NoRedirectSession()
        self._headers: dict[str, _SignedHeader] = {}
        self._lock = threading.Lock()

    def authorization(self, audience: str, now: datetime) -> str:
        """The `Authorization: vapid t=..., k=...` value for one push service origin.

        Reused while it has at least REFRESH_MARGIN left (and was not issued in what is now
        the future, should the clock step back); each new token gets its own claims.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        with self._lock:
            cached = self._headers.get(audience)
            if cached is not None and (
                REFRESH_MARGIN <= cached.expires - now <= self._claim_lifetime
            ):
                return cached.value
            expires = int((now + self._claim_lifetime).timestamp())
            claims = {"aud": audience, "exp": expires, "sub": self._keys.subject}
            token = sign_jwt(claims, self._signing_key)
            header = _SignedHeader(
                value=f"vapid t={token}, k={self._keys.public_key}",
                expires=datetime.fromtimestamp(expires, UTC),
            )
            self._headers[audience] = header
            return header.value

    def send(
        self,
        subscription: PushSubscription,
        payload: bytes,
        *,
        ttl: int,
        urgency: str,
        now: datetime,
        topic: str | None = None,
    ) -> PushResult:
        """POST one encrypted message. A read timeout or a connection closed before the answer
        raises DeliveryUnknown: the push service may have accepted the message, and a retry
        could show it twice."""
        if not payload or len(payload) > MAX_PLAINTEXT_BYTES:
            raise ValueError(f"payload must be 1 to {MAX_PLAINTEXT_BYTES} bytes")
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
            raise ValueError("ttl must be a whole number of seconds, 0 or more")
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {sorted(URGENCIES)}")
        if topic is not None and not _TOPIC.fullmatch(topic):
            raise ValueError("topic must be 1 to 32 base64url characters")
        headers = {
            "Authorization": self.authorization(push_service_origin(subscription.endpoint), now),
            "Urgency": urgency,
        }
        if topic is not None:
            headers["Topic"] = topic
        subscription_info = {
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        }
        try:
            response = webpush(
                subscription_info,
                data=payload,  # bytes are sent as they are; the annotation says str
                headers=headers,
                ttl=ttl,
                timeout=self._timeout,
                content_encoding="aes128gcm",
                requests_session=self._session,
            )
        except WebPushException as exc:
            if exc.response is None:
                raise PermanentSendError("push subscription refused by pywebpush") from exc
            response = exc.response
        except requests.ConnectTimeout as exc:
            # Never connected: nothing was delivered, safe to retry.
            raise TransientSendError("push service unreachable") from exc
        except requests.ConnectionError as exc:
            if _never_connected(exc):
                raise TransientSendError("push service unreachable") from exc
            # Connected, then reset or closed before an answer: the message may have gone out.
            raise DeliveryUnknown("the push service closed the connection unanswered") from exc
        except requests.Timeout as exc:
            # Sent, but no answer: the push service may have it. Not retried (at most once).
            raise DeliveryUnknown("the push service did not answer in time") from exc
        if not isinstance(response, requests.Response):
            raise TypeError("pywebpush returned no HTTP response")
        return PushResult(
            status=response.status_code,
            retry_after=response.headers.get("Retry-After"),
            location=response.headers.get("Location"),
        )

    def close(self) -> None:
        self._session.close()


def _never_connected(exc: BaseException) -> bool:
    """Whether urllib3 failed to open the connection (refused, no such host, timed out): its
    error is somewhere in the chain requests wraps it in, as an argument, a reason or a cause.
    Any other connection error came after connecting, when the request may have been sent."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        link = pending.pop()
        if not isinstance(link, BaseException) or id(link) in seen:
            continue
        seen.add(id(link))
        # NewConnectionError and NameResolutionError are kinds of ConnectTimeoutError.
        if isinstance(link, urllib3.exceptions.ConnectTimeoutError):
            return True
        pending.extend(link.args)
        pending.extend((getattr(link, "reason", None), link.__cause__, link.__context__))
    return False


def _new_key_pair() -> tuple[str, str]:
    """A fresh P-256 pair as (raw private scalar, uncompressed public point), base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(PRIVATE_KEY_BYTES, "big")
    return _b64encode(scalar), _b64encode(_public_bytes(key))


def _public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str, name: str) -> bytes:
    if not isinstance(text, str) or "=" in text:
        raise ValueError(f"VAPID {name} must be unpadded base64url")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"VAPID {name} must be unpadded base64url") from None
