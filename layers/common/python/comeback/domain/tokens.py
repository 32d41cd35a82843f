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
from typing import Any

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


def _mac(version: str, key: bytes, payload: str) -> str:
    """The version is part of what is signed: a token of one kind never passes as another."""
    return _b64(hmac.new(key, f"{version}.{payload}".encode(), hashlib.sha256).digest())


def _seal(version: str, fields: list[object], key: bytes) -> str:
    payload = _b64(json.dumps(fields, separators=(",", ":")).encode())
    return f"{version}.{payload}.{_mac(version, key, payload)}"


def _open(token: object, version: str, key: bytes, *, max_chars: int, invalid: str) -> list[Any]:
    """The signed fields of a token of this kind, or InvalidInput(`invalid`) if it was forged,
    altered or is no token of ours. The MAC is checked before anything inside is believed."""
    parts = _parts(token, max_chars)
    if len(parts) != 3 or parts[0] != version:
        raise InvalidInput(invalid)
    _, payload, mac = parts
    if not hmac.compare_digest(mac, _mac(version, key, payload)):
        raise InvalidInput(invalid)
    try:
        fields = json.loads(_unb64(payload))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(invalid) from exc
    if not isinstance(fields, list):
        raise InvalidInput(invalid)
    return fields


def sign_unsubscribe(claim: UnsubscribeClaim, key: bytes) -> str:
    return _seal(_VERSION, [claim.shop_id, claim.profile_id, claim.channel, claim.issued], key)


def verify_unsubscribe(token: str, key: bytes) -> UnsubscribeClaim:
    """The claim inside a token, or InvalidInput if it was forged or altered."""
    invalid = "this unsubscribe link is not valid"
    fields = _open(token, _VERSION, key, max_chars=2048, invalid=invalid)
    try:
        shop_id, profile_id, channel, issued = fields
        return UnsubscribeClaim(str(shop_id), str(profile_id), str(channel), int(issued))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(invalid) from exc


_CLICK_VERSION = "c1"  # another MAC input than unsubscribe tokens: one never passes as the other


@dataclass(frozen=True)
class ClickClaim:
    shop_id: str
    profile_id: str
    job_key: str
    channel: str
    url: str


def sign_click(claim: ClickClaim, key: bytes) -> str:
    fields = [claim.shop_id, claim.profile_id, claim.job_key, claim.channel, claim.url]
    return _seal(_CLICK_VERSION, list(fields), key)


def verify_click(token: str, key: bytes) -> ClickClaim:
    """The claim of a tracked link (its target was signed, so it is no open redirect)."""
    invalid = "this link is not valid"
    fields = _open(token, _CLICK_VERSION, key, max_chars=4096, invalid=invalid)
    try:
        shop_id, profile_id, job_key, channel, url = (str(field) for field in fields)
    except ValueError as exc:
        raise InvalidInput(invalid) from exc
    if not url.startswith(("https://", "http://")):
        raise InvalidInput(invalid)
    return ClickClaim(shop_id, profile_id, job_key, channel, url)


_CART_VERSION = "r1"  # restore-cart links: a MAC input of their own, like click tokens


@dataclass(frozen=True)
class CartClaim:
    """Who may see which cart until when: the token of a "restore your cart" link."""

    shop_id: str
    profile_id: str
    subject: str  # which cart the message was about (say the cart's time); shown nowhere
    expires: int  # seconds since the epoch


def sign_cart(claim: CartClaim, key: bytes) -> str:
    fields = [claim.shop_id, claim.profile_id, claim.subject, claim.expires]
    return _seal(_CART_VERSION, list(fields), key)


def verify_cart(token: str, key: bytes, now: datetime) -> CartClaim:
    """The claim of a restore-cart link. InvalidInput if it was forged or altered; LinkExpired
    (naming the signed shop, so the page can point there) once its time is over. The MAC is
    checked before anything in the payload is believed, the expiry included."""
    invalid = "this link is not valid"
    fields = _open(token, _CART_VERSION, key, max_chars=2048, invalid=invalid)
    try:
        shop_id, profile_id, subject, expires = fields
        claim = CartClaim(str(shop_id), str(profile_id), str(subject), int(expires))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(invalid) from exc
    if now.timestamp() >= claim.expires:
        raise LinkExpired("this link has expired", shop_id=claim.shop_id)
    return claim
