"""Web push rules (RFC 8030, 8291, 8292) as plain functions: no AWS, no network.

A push subscription is a capability handed to us by a visitor's browser: an endpoint URL at
the browser vendor's push service and two keys we encrypt to. Whatever we accept here we will
later POST to, so the endpoint is held to a short list of real push services (or, in local
runs, to loopback only): an open list would make the sender a request forger for anyone who
can call the subscribe API.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from comeback.domain.order_status import ORDER_STATUS
from comeback.domain.timers import CART_RECOVERY, REACTIVATION

MAX_ENDPOINT_CHARS = 1024
P256DH_BYTES = 65
AUTH_SECRET_BYTES = 16
UNCOMPRESSED_POINT_PREFIX = 0x04

# Push services run by the browser vendors. Matching is exact, or on a whole-label suffix
# (".push.apple.com" matches "web.push.apple.com" but never "evilpush.apple.com").
PUSH_SERVICE_HOSTS = frozenset(
    {"fcm.googleapis.com", "updates.push.services.mozilla.com", "web.push.apple.com"}
)
PUSH_SERVICE_SUFFIXES = (".push.apple.com", ".notify.windows.com")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Contacts no operator can be reached at (RFC 2606, RFC 6761, mDNS): a VAPID subject is how a
# push service tells the sender about a problem, so a placeholder is a configuration mistake.
PLACEHOLDER_TLDS = ("invalid", "local", "localhost", "test", "example")
PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")
MAX_SUBJECT_CHARS = 255

# Payload limits. A push message body may be 4096 bytes once encrypted; aes128gcm with one
# record adds 103 bytes, so ~3993 is the ceiling and the default leaves room to spare.
DEFAULT_MAX_PAYLOAD_BYTES = 3000
MAX_LINK_CHARS = 1024
MAX_TAG_CHARS = 64
ELLIPSIS = "\u2026"
# Room for the longest url, icon and tag plus two ellipses and the JSON punctuation (2,168
# bytes), so trimming the text always reaches a payload that fits.
MIN_PAYLOAD_BYTES = 2304

# RFC 3986 characters; anything else (spaces, quotes, backslashes, controls, non-ASCII) is
# refused before parsing, because URL parsers disagree on exactly those.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_NETLOC = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(?::(?P<port>[0-9]{1,5}))?")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")
_B64_BODY = re.compile(r"[A-Za-z0-9\-_]*")
_TAG_CHARS = re.compile(r"[A-Za-z0-9._:\-]+")

# Time to live and urgency (RFC 8030 section 5) per message kind. A cart reminder is
# pointless after an evening; a win-back can wait a day and should not wake a phone.
BACK_IN_STOCK = "back_in_stock"
PRICE_DROP = "price_drop"
_HOUR = 3600
DELIVERY_OPTIONS: dict[str, tuple[int, str]] = {
    CART_RECOVERY: (4 * _HOUR, "normal"),
    REACTIVATION: (24 * _HOUR, "low"),
    ORDER_STATUS: (1 * _HOUR, "high"),
    BACK_IN_STOCK: (12 * _HOUR, "normal"),
    PRICE_DROP: (12 * _HOUR, "normal"),
}
DEFAULT_DELIVERY_OPTIONS = (12 * _HOUR, "normal")

DEFAULT_RETRY_DELAY = timedelta(seconds=60)
MAX_RETRY_DELAY = timedelta(hours=1)
_MAX_RETRY_SECONDS = int(MAX_RETRY_DELAY.total_seconds())
MAX_RETRY_AFTER_DIGITS = 10
"""Retry-After delta-seconds longer than this (leading zeros aside) are read as the cap."""

OutcomeKind = Literal["delivered", "gone", "too_large", "retry", "unauthorised", "failed"]


@dataclass(frozen=True)
class PushSubscription:
    """What a browser's PushSubscription.toJSON() gives us, normalised.

    Keys are unpadded base64url, the form browsers produce and pywebpush reads.
    """

    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class PushOutcome:
    """What to do after a push service answered: the sender acts on `kind` alone."""

    kind: OutcomeKind
    retry_at: datetime | None = None


def normalise_subscription(
    endpoint: str, p256dh: str, auth: str, *, allow_loopback: bool
) -> PushSubscription:
    """A subscription we are willing to send to, or ValueError with a message for the client.

    `allow_loopback` is for local runs: then only loopback endpoints are accepted, so that
    nothing a local run sends can leave the machine.
    """
    _check_endpoint(endpoint, allow_loopback=allow_loopback)
    key = _decode_key(p256dh, "p256dh")
    if len(key) != P256DH_BYTES or key[0] != UNCOMPRESSED_POINT_PREFIX:
        raise ValueError("p256dh must be an uncompressed P-256 public key (65 bytes)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    except ValueError:
        raise ValueError("p256dh is not a point on the P-256 curve") from None
    secret = _decode_key(auth, "auth")
    if len(secret) != AUTH_SECRET_BYTES:
        raise ValueError("auth must be a 16-byte secret")
    return PushSubscription(endpoint=endpoint, p256dh=_b64url(key), auth=_b64url(secret))


def push_service_origin(endpoint: str) -> str:
    """`scheme://host[:port]` of an endpoint: the audience (`aud`) of its VAPID token.

    Push services compare `aud` with their own origin as a string, so the default port is
    left out and the host is lower-cased, as a browser would serialise the origin.
    """
    scheme, host, port = _split_origin(endpoint)
    shown = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        shown = f"{shown}:{port}"
    return f"{scheme}://{shown}"


def check_vapid_subject(sub: str) -> str:
    """The VAPID `sub` claim, if push services can reach its operator through it.

    It must be `mailto:<address>` or an `https://` URL on a real domain: push services use it
    to contact whoever runs the sender, so placeholders are refused here, before deploying.
    """
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUBJECT_CHARS:
        raise ValueError(f"the VAPID subject must be 1 to {MAX_SUBJECT_CHARS} characters")
    if not _URL_CHARS.fullmatch(sub):
        raise ValueError("the VAPID subject must not contain spaces or special characters")
    lowered = sub.lower()
    if lowered.startswith("mailto:"):
        local, at, domain = sub[len("mailto:") :].rpartition("@")
        if not at or not local or "@" in local or "?" in domain:
            raise ValueError("the VAPID subject must be mailto: followed by one email address")
        domain = domain.lower()
    elif lowered.startswith("https://"):
        parts = urlsplit(sub)
        match = _NETLOC.fullmatch(parts.netloc)
        if match is None:
            raise ValueError("the VAPID subject must be an https:// URL with a host name")
        domain = match["host"].lower()
    else:
        raise ValueError("the VAPID subject must be a mailto: address or an https:// URL")
    if _is_ip_literal(domain) or not _is_dns_name(domain) or "." not in domain:
        raise ValueError("the VAPID subject must name a public domain")
    if _is_placeholder(domain):
        raise ValueError(
            f"the VAPID subject uses the placeholder domain {domain}; "
            "set a contact address you read"
        )
    return sub


def build_payload(
    *,
    title: str,
    body: str,
    url: str,
    icon: str | None = None,
    tag: str | None = None,
    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> bytes:
    """The notification as compact UTF-8 JSON, shortened to fit `max_bytes`.

    Long text never refuses a message: the body is cut first (a notification shows little of
    it anyway), then the title, each on a character boundary and marked with an ellipsis.
    Links and the tag are never cut (a cut link is a broken link), so they are bounded up
    front and `max_bytes` has a floor that always leaves them room.
    """
    if max_bytes < MIN_PAYLOAD_BYTES:
        raise ValueError(f"max_bytes must be at least {MIN_PAYLOAD_BYTES}")
    if not isinstance(title, str) or not isinstance(body, str):
        raise ValueError("title and body must be text")
    _check_link(url, "url")
    if icon is not None:
        _check_link(icon, "icon")
    if tag is not None and (
        not isinstance(tag, str) or len(tag) > MAX_TAG_CHARS or not _TAG_CHARS.fullmatch(tag)
    ):
        raise ValueError(f"tag must be 1 to {MAX_TAG_CHARS} letters, digits or . _ : -")
    fields: dict[str, str | None] = {
        "title": _valid_unicode(title),
        "body": _valid_unicode(body),
        "url": url,
        "icon": icon,
        "tag": tag,
    }
    encoded = _encode_payload(fields)
    for name in ("body", "title"):
        if len(encoded) <= max_bytes:
            break
        fields[name] = _shortest_cut_that_fits(fields, name, max_bytes)
        encoded = _encode_payload(fields)
    return encoded


def delivery_options(kind: str) -> tuple[int, str]:
    """TTL in seconds and Urgency for a message kind; unknown kinds get a middle ground."""
    return DELIVERY_OPTIONS.get(kind, DEFAULT_DELIVERY_OPTIONS)


def classify_push_response(status: int, retry_after: str | None, now: datetime) -> PushOutcome:
    """What a push service's answer means for the message and the subscription.

    404 and 410 are the only answers that prove the subscription is dead. 401 and 403 mean
    our VAPID key or token is wrong: the subscription is fine, so it is kept and the caller
    raises an alarm instead. 413 will not improve on retry, but says nothing against the
    subscription either.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if 200 <= status <= 202:
        return PushOutcome("delivered")
    if status in (404, 410):
        return PushOutcome("gone")
    if status == 413:
        return PushOutcome("too_large")
    if status == 429 or 500 <= status <= 599:
        return PushOutcome("retry", retry_at=_retry_at(retry_after, now))
    if status in (401, 403):
        return PushOutcome("unauthorised")
    return PushOutcome("failed")


def _retry_at(retry_after: str | None, now: datetime) -> datetime:
    """When to try again: Retry-After as delta-seconds or an HTTP-date, kept within an hour
    so that a hostile or broken value cannot park a message past its usefulness."""
    delay = DEFAULT_RETRY_DELAY
    value = (retry_after or "").strip()
    if value.isascii() and value.isdigit():
        # Past MAX_RETRY_AFTER_DIGITS the value is over the cap anyway, and int() of thousands of
        # digits raises ValueError (Python's int_max_str_digits): never parse one that long.
        digits = value.lstrip("0") or "0"
        seconds = int(digits) if len(digits) <= MAX_RETRY_AFTER_DIGITS else _MAX_RETRY_SECONDS
        delay = timedelta(seconds=min(seconds, _MAX_RETRY_SECONDS))
    elif value:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:  # "-0000" means UTC with no claim about local time
                when = when.replace(tzinfo=now.tzinfo)
            delay = max(min(when - now, MAX_RETRY_DELAY), timedelta(0))
    return now + delay


def _check_endpoint(endpoint: str, *, allow_loopback: bool) -> None:
    if not isinstance(endpoint, str) or not endpoint:
        raise ValueError("endpoint must be a URL")
    if len(endpoint) > MAX_ENDPOINT_CHARS:
        raise ValueError(f"endpoint must be at most {MAX_ENDPOINT_CHARS} characters")
    if not _URL_CHARS.fullmatch(endpoint):
        raise ValueError("endpoint contains characters not allowed in a URL")
    if "#" in endpoint:
        raise ValueError("endpoint must not have a fragment")
    scheme, host, port = _split_origin(endpoint)
    if allow_loopback:
        if host not in LOOPBACK_HOSTS:
            raise ValueError("in local mode, endpoint must be on 127.0.0.1, ::1 or localhost")
        return
    if scheme != "https":
        raise ValueError("endpoint must use https")
    if port not in (None, 443):
        raise ValueError("endpoint must use the default https port")
    if _is_ip_literal(host):
        raise ValueError("endpoint must name a push service, not an IP address")
    if not _is_known_push_service(host):
        raise ValueError("endpoint is not at a supported browser push service")


def _split_origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, lower-cased host (IPv6 without brackets) and explicit port of an http(s) URL.

    The authority is matched against a strict pattern rather than trusting urlsplit alone:
    userinfo, zone ids and empty or malformed ports are refused outright.
    """
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise ValueError("endpoint must be an absolute http(s) URL")
    if "@" in parts.netloc:
        raise ValueError("endpoint must not contain a user name or password")
    match = _NETLOC.fullmatch(parts.netloc)
    if match is None:
        raise ValueError("endpoint has a malformed host or port")
    host = match["host"].lower()
    if host.startswith("["):
        host = host[1:-1]
        if not _is_ip_literal(host):
            raise ValueError("endpoint has a malformed IPv6 address")
    port = int(match["port"]) if match["port"] is not None else None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("endpoint has a port out of range")
    return parts.scheme, host, port


def _is_known_push_service(host: str) -> bool:
    if host in PUSH_SERVICE_HOSTS:
        return True
    for suffix in PUSH_SERVICE_SUFFIXES:
        if host.endswith(suffix) and _is_dns_name(host[: -len(suffix)]):
            return True
    return False


def _is_dns_name(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in labels)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_placeholder(domain: str) -> bool:
    return any(domain == tld or domain.endswith("." + tld) for tld in PLACEHOLDER_TLDS) or any(
        domain == name or domain.endswith("." + name) for name in PLACEHOLDER_DOMAINS
    )


def _decode_key(text: str, name: str) -> bytes:
    """Bytes of a key in base64url or standard base64, with or without padding.

    Browsers give unpadded base64url, but hand-written clients and other SDKs send the
    standard alphabet or padding; refusing them would only lose subscribers.
    """
    if not isinstance(text, str) or not text or len(text) > 256:
        raise ValueError(f"{name} must be a base64url string")
    body = text.rstrip("=")
    padding = len(text) - len(body)
    urlsafe = body.replace("+", "-").replace("/", "_")
    if (
        not _B64_BODY.fullmatch(urlsafe)
        or len(urlsafe) % 4 == 1
        or padding > 2
        or (padding and len(text) % 4)
    ):
        raise ValueError(f"{name} must be a base64url string")
    try:
        return base64.urlsafe_b64decode(urlsafe + "=" * (-len(urlsafe) % 4))
    except binascii.Error:
        raise ValueError(f"{name} must be a base64url string") from None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _check_link(link: object, name: str) -> None:
    if not isinstance(link, str) or not 0 < len(link) <= MAX_LINK_CHARS:
        raise ValueError(f"{name} must be a URL of at most {MAX_LINK_CHARS} characters")
    if not _URL_CHARS.fullmatch(link):
        raise ValueError(f"{name} contains characters not allowed in a URL")
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        raise ValueError(f"{name} must be an http(s) URL")
    if _NETLOC.fullmatch(parts.netloc) is None:
        raise ValueError(f"{name} has a malformed host or port")


def _valid_unicode(text: str) -> str:
    """Text that encodes as UTF-8: JSON input can carry lone surrogates, which cannot."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _encode_payload(fields: dict[str, str | None]) -> bytes:
    present = {key: value for key, value in fields.items() if value is not None}
    return json.dumps(present, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _shortest_cut_that_fits(fields: dict[str, str | None], name: str, max_bytes: int) -> str:
    """The longest prefix of `fields[name]` (plus an ellipsis) that fits, found by bisection.

    Returns just the ellipsis when even that does not fit; the caller then cuts the next
    field. The encoded size only grows with the prefix length, so bisection is exact.
    """
    text = fields[name] or ""
    if not text:
        return text
    trial = dict(fields)

    def fits(length: int) -> bool:
        trial[name] = _cut(text, length)
        return len(_encode_payload(trial)) <= max_bytes

    low, high = 0, len(text) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return _cut(text, low)


def _cut(text: str, length: int) -> str:
    """`text` cut to at most `length` code points, not inside a combined character."""
    while 0 < length < len(text) and (
        _joins_previous(text[length]) or text[length - 1] == "\u200d"
    ):
        length -= 1
    return text[:length].rstrip() + ELLIPSIS


def _joins_previous(char: str) -> bool:
    """Whether `char` belongs to the character before it (accents, emoji modifiers, ZWJ)."""
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in ("Mn", "Me")
        or char == "\u200d"
        or "\ufe00" <= char <= "\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"
    )
