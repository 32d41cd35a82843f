"""Accepting tracking calls: authenticate, validate, make durable, answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from comeback.adapters.queues import QueuePublisher
from comeback.adapters.store import Store
from comeback.domain.intake import (
    IntakePolicy,
    decode_body,
    read_document,
    validate_messages,
)
from comeback.domain.push_events import PUSH_SUBSCRIBED, PUSH_UNSUBSCRIBED
from comeback.errors import InvalidInput, Unauthorized
from comeback.jsonutil import dumps

KEY_CACHE_SECONDS = 60.0
_key_cache: dict[str, tuple[float, tuple[str, str] | None]] = {}
_key_lock = threading.Lock()


@dataclass(frozen=True)
class IntakeOutcome:
    status: int
    body: dict[str, Any]
    accepted: int
    rejected: int
    shop_id: str


def authenticate(store: Store, write_key: str | None) -> tuple[str, str]:
    """The shop a key belongs to and where the call comes from (cached briefly): `client`
    for the public write key, `server` for the shop's secret key. Else Unauthorized."""
    if not write_key or len(write_key) > 200:
        raise Unauthorized("a key is required: the shop's key as the HTTP Basic user name")
    now = time.monotonic()
    with _key_lock:
        cached = _key_cache.get(write_key)
    if cached is None or now - cached[0] > KEY_CACHE_SECONDS:
        cached = (now, store.shop_for_key(write_key))
        with _key_lock:
            _key_cache[write_key] = cached
    if cached[1] is None:
        raise Unauthorized("unknown write key")
    shop_id, key_type = cached[1]
    return shop_id, "server" if key_type == "secret" else "client"


def authenticate_backend(store: Store, key: str | None, api: str) -> str:
    """The shop of a server-side API call (privacy, KPIs, products): the shop's secret key
    only; the public write key, sitting in every page, is refused."""
    shop_id, source = authenticate(store, key)
    if source != "server":
        raise Unauthorized(f"the {api} API takes the shop's secret key, never the write key")
    return shop_id


# The push subscription calls are sugar for the tracking events they become.
PUSH_CALLS = {"subscribe": PUSH_SUBSCRIBED, "unsubscribe": PUSH_UNSUBSCRIBED}
_PUSH_CALL_FIELDS = ("userId", "anonymousId", "messageId", "timestamp", "sentAt", "context")


def push_call_as_track(document: dict[str, Any], event: str) -> dict[str, Any]:
    """`{"anonymousId", "subscription": <PushSubscription JSON>}` (or `"endpoint"`) as the
    track call it stands for, so it travels the same validated, durable path."""
    properties = {k: document[k] for k in ("subscription", "endpoint") if k in document}
    track = {k: document[k] for k in _PUSH_CALL_FIELDS if k in document}
    return {**track, "event": event, "properties": properties}


def accept(
    *,
    call: str,
    body: bytes,
    content_encoding: str | None,
    authorization: str | None,
    store: Store,
    publisher: QueuePublisher,
    received_at: datetime,
    policy_for: Callable[[str], IntakePolicy] = lambda shop_id: IntakePolicy(),
) -> IntakeOutcome:
    """Answer a tracking call. Events answered with 2xx are on the queue before the answer."""
    document, write_key = read_document(decode_body(body, content_encoding), authorization)
    shop_id, source = authenticate(store, write_key)
    if call in PUSH_CALLS:
        call, document = "track", push_call_as_track(document, PUSH_CALLS[call])
    parsed = validate_messages(
        call,
        document,
        received_at=received_at,
        shop_id=shop_id,
        source=source,
        policy=policy_for(shop_id),
    )
    if not parsed.accepted:
        first = parsed.rejected[0].error if parsed.rejected else "no messages"
        raise InvalidInput(first, details=[r.as_dict() for r in parsed.rejected])
    # ASCII-only: SQS refuses some Unicode characters that JSON escapes carry safely.
    publisher.publish([dumps(event.model_dump(), ascii_only=True) for event in parsed.accepted])
    answer: dict[str, Any] = {"success": True}
    if parsed.warnings:
        answer["warnings"] = [w.as_dict() for w in parsed.warnings]
    if parsed.rejected:
        answer.update(
            accepted=len(parsed.accepted), rejected=[r.as_dict() for r in parsed.rejected]
        )
    return IntakeOutcome(200, answer, len(parsed.accepted), len(parsed.rejected), shop_id)
