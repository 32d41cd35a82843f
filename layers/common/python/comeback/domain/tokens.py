"""Signed tokens for links in messages (unsubscribe, tracked clicks, restore-cart):
HMAC-SHA256 over a compact payload.

A token names its shop, so a token signed for one shop can never act on another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime

from comeback.errors import InvalidInput, LinkExpired

_VERSION = "1"
# What our tokens are made of: base64url and the dots between parts. Anything else (non-ASCII
# text above all, which hmac.compare_digest refuses with a TypeError) is no token of ours.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-.]+")


@dataclass(frozen=True)
class UnsubscribeClaim:
    shop_id: str
    profile_id: str
    channel: str
    issued: int  # seconds since the epoch


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parts(token: object, max_chars: int) -> list[str]:
    """The dot-separated parts of a token, or none when it cannot be one of ours."""
    if not isinstance(token, str) or len(token) >= max_chars or not _TOKEN_CHARS.fullmatch(token):
        return []
    return token.split(".")


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, f"{_VERSION}.{payload}".encode(), hashlib.sha256).digest())


def sign_unsubscribe(claim: UnsubscribeClaim, key: bytes) -> str:
    payload = _b64(
        json.dumps(
            [claim.shop_id, claim.profile_id, claim.channel, claim.issued], separators=(",", ":")
        ).encode()
    )
    return f"{_VERSION}.{payload}.{_mac(key, payload)}"


def verify_unsubscribe(token: str, key: bytes) -> UnsubscribeClaim:
    """The claim inside a token, or InvalidInput if it was forged or altered."""
    parts = _parts(token, 2048)
    if len(parts) != 3 or parts[0] != _VERSION:
        raise InvalidInput("this unsubscribe link is not valid")
    _, payload, mac = parts
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise InvalidInput("this unsubscribe link is not valid")
    try:
        shop_id, profile_id, channel, issued = json.loads(_unb64(payload))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("this unsubscribe link is not valid") from exc
    return UnsubscribeClaim(str(shop_id), str(profile_id), str(channel), int(issued))


_CLICK_VERSION = "c1"  # another MAC input than unsubscribe tokens: one never passes as the other


@dataclass(frozen=True)
class ClickClaim:
    shop_id: str
    profile_id: str
    job_key: str
    channel: str
    url: str


def sign_click(claim: ClickClaim, key: bytes) -> str:
    payload = _b64(
        json.dumps(
            [claim.shop_id, claim.profile_id, claim.job_key, claim.channel, claim.url],
            separators=(",", ":"),
        ).encode()
    )
    mac = _b64(hmac.new(key, f"{_CLICK_VERSION}.{payload}".encode(), hashlib.sha256).digest())
    return f"{_CLICK_VERSION}.{payload}.{mac}"


def verify_click(token: str, key: bytes) -> ClickClaim:
    """The claim of a tracked link (its target was signed, so it is no open redirect)."""
    parts = _parts(token, 4096)
    if len(parts) != 3 or parts[0] != _CLICK_VERSION:
        raise InvalidInput("this link is not valid")
    _, payload, mac = parts
    expected = _b64(hmac.new(key, f"{_CLICK_VERSION}.{payload}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        raise InvalidInput("this link is not valid")
    try:
        shop_id, profile_id, job_key, channel, url = json.loads(_unb64(payload))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("this link is not valid") from exc
    if not str(url).startswith(("https://", "http://")):
        raise InvalidInput("this link is not valid")
    return ClickClaim(str(shop_id), str(profile_id), str(job_key), str(channel), str(url))


_CART_VERSION = "r1"  # restore-cart links: a MAC input of their own, like click tokens


@dataclass(frozen=True)
class CartClaim:
    """Who may see which cart until when: the token of a "restore your cart" link."""

    shop_id: str
    profile_id: str
    subject: str  # which cart the message was about (say the cart's time); shown nowhere
    expires: int  # seconds since the epoch


def _cart_mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, f"{_CART_VERSION}.{payload}".encode(), hashlib.sha256).digest())


def sign_cart(claim: CartClaim, key: bytes) -> str:
    payload = _b64(
        json.dumps(
            [claim.shop_id, claim.profile_id, claim.subject, claim.expires],
            separators=(",", ":"),
        ).encode()
    )
    return f"{_CART_VERSION}.{payload}.{_cart_mac(key, payload)}"


def verify_cart(token: str, key: bytes, now: datetime) -> CartClaim:
    """The claim of a restore-cart link. InvalidInput if it was forged or altered; LinkExpired
    (naming the signed shop, so the page can point there) once its time is over. The MAC is
    checked before anything in the payload is believed, the expiry included."""
    parts = _parts(token, 2048)
    if len(parts) != 3 or parts[0] != _CART_VERSION:
        raise InvalidInput("this link is not valid")
    _, payload, mac = parts
    if not hmac.compare_digest(mac, _cart_mac(key, payload)):
        raise InvalidInput("this link is not valid")
    try:
        shop_id, profile_id, subject, expires = json.loads(_unb64(payload))
        claim = CartClaim(str(shop_id), str(profile_id), str(subject), int(expires))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("this link is not valid") from exc
    if now.timestamp() >= claim.expires:
        raise LinkExpired("this link has expired", shop_id=claim.shop_id)
    return claim
