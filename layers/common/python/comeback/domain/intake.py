"""Turning a tracking API request into accepted events and per-event errors.

Follows the Segment HTTP tracking API: the single calls (`/v1/track`, ...) carry one message,
`/v1/batch` carries `{"batch": [...]}`. Client clocks are corrected as Segment does:
timestamp + (receivedAt - sentAt).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from comeback.clock import ensure_utc, iso
from comeback.domain import commerce, consent
from comeback.domain.contact import normalise_email
from comeback.domain.push_events import PUSH_EVENTS, normalised_properties
from comeback.domain.quiet_hours import zone
from comeback.errors import InvalidInput, PayloadTooLarge
from comeback.jsonutil import dumps
from comeback.models.events import AcceptedEvent, SegmentMessage

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
SINGLE_CALLS = ("track", "identify", "page", "screen", "group", "alias")
BATCH_CALLS = ("batch", "import")


@dataclass
class Rejection:
    index: int
    message_id: str | None
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "messageId": self.message_id, "error": self.error}


@dataclass
class ParsedRequest:
    accepted: list[AcceptedEvent] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    # Accepted messages from which an unusable trait was dropped (the rest was kept).
    warnings: list[Rejection] = field(default_factory=list)


def decode_body(body: bytes, content_encoding: str | None) -> bytes:
    """The request body, gunzipped if sent with `Content-Encoding: gzip`, within the limit."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        data = body
    elif encoding == "gzip":
        data = _gunzip_bounded(body, MAX_BATCH_BYTES)
    else:
        raise InvalidInput(f"unsupported Content-Encoding {encoding!r}; send gzip or nothing")
    if len(data) > MAX_BATCH_BYTES:
        raise PayloadTooLarge(f"request body is over the {MAX_BATCH_BYTES // 1024} KB limit")
    return data


def _gunzip_bounded(body: bytes, limit: int) -> bytes:
    # Decompress incrementally so a small "zip bomb" cannot blow up memory.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InvalidInput("body is not valid gzip") from exc
    if len(data) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"request body is over the {limit // 1024} KB limit")
    if not inflater.eof:
        raise InvalidInput("body is not valid gzip (truncated)")
    return data


def write_key_from_authorization(header: str | None) -> str | None:
    """The write key as the user name of HTTP Basic auth (the password is empty)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user or None


def read_document(body: bytes, authorization: str | None) -> tuple[dict[str, Any], str | None]:
    """The JSON body and the write key (Basic auth user name, else `writeKey` in the body)."""
    try:
        document = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInput("body is nested too deeply") from exc
    if not isinstance(document, dict):
        raise InvalidInput("body must be a JSON object")
    write_key = write_key_from_authorization(authorization) or _text(document.get("writeKey"))
    return document, write_key


def _refuse_constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not a number JSON allows")


# What DynamoDB can store: 38 significant digits, magnitudes from 1E-130 to below 1E126.
_MAX_DIGITS = 38
_MAX_EXPONENT = 125
_MIN_EXPONENT = -130
MAX_DEPTH = 32


def check_values(value: Any, depth: int = 0) -> None:
    """Refuse what could be accepted now and fail later: numbers DynamoDB cannot hold, text
    that is not valid Unicode (lone surrogates), structures nested beyond reason."""
    if depth > MAX_DEPTH:
        raise InvalidInput(f"body is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        for key, item in value.items():
            check_values(key, depth + 1)
            check_values(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_values(item, depth + 1)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInput(
                "text holds an invalid Unicode character (a lone surrogate)"
            ) from exc
    elif isinstance(value, int | Decimal) and not isinstance(value, bool) and value:
        number = Decimal(value)
        digits = len("".join(map(str, number.as_tuple().digits)).strip("0") or "0")
        if digits > _MAX_DIGITS or not _MIN_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
            raise InvalidInput(
                f"number {str(number)[:40]} is out of the storable range "
                f"(38 digits, 1E-130 to 1E125)"
            )


@dataclass(frozen=True)
class IntakePolicy:
    """Per-shop and per-deployment rules the intake applies while normalising."""

    phone_region: str | None = None  # for numbers written without a country code
    allow_loopback_push: bool = False  # local runs: push endpoints on 127.0.0.1 only
    loopback_push_origin: str | None = None  # and only at the local push service


def validate_messages(
    call: str,
    document: dict[str, Any],
    *,
    received_at: datetime,
    shop_id: str,
    source: str = "client",
    policy: IntakePolicy = IntakePolicy(),
) -> ParsedRequest:
    """Validate a tracking call. Raises InvalidInput when the request as a whole is unusable."""
    result = ParsedRequest()
    if call in BATCH_CALLS:
        messages = document.get("batch")
        if not isinstance(messages, list):
            raise InvalidInput("batch calls need a `batch` array of messages")
        if not messages:
            raise InvalidInput("`batch` is empty")
        defaults = {k: document[k] for k in ("context", "integrations") if k in document}
        batch_sent_at = document.get("sentAt")
    elif call in SINGLE_CALLS:
        document = {k: v for k, v in document.items() if k != "writeKey"}
        messages = [dict(document, type=call)]
        defaults, batch_sent_at = {}, None
    else:
        raise InvalidInput(f"unknown call {call!r}")

    for index, raw in enumerate(messages):
        dropped: list[str] = []
        try:
            event = _accept(
                raw, defaults, batch_sent_at, received_at, shop_id, source, policy, dropped
            )
        except InvalidInput as exc:
            message_id = raw.get("messageId") if isinstance(raw, dict) else None
            result.rejected.append(Rejection(index, _text(message_id), exc.message))
        else:
            result.accepted.append(event)
            result.warnings.extend(Rejection(index, event.message_id, d) for d in dropped)
    return result


def _accept(
    raw: Any,
    defaults: dict[str, Any],
    batch_sent_at: Any,
    received_at: datetime,
    shop_id: str,
    source: str,
    policy: IntakePolicy,
    dropped: list[str],
) -> AcceptedEvent:
    if not isinstance(raw, dict):
        raise InvalidInput("each message must be a JSON object")
    merged = {**defaults, **raw}
    if "sentAt" not in merged and batch_sent_at is not None:
        merged["sentAt"] = batch_sent_at
    check_values(merged)
    # The limit applies to the message as stored, batch-level context included.
    size = len(dumps(merged).encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        raise InvalidInput(f"message is over the {MAX_EVENT_BYTES // 1024} KB limit ({size} bytes)")
    try:
        message = SegmentMessage.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from exc
    _check_semantics(message)

    received_at = ensure_utc(received_at)
    client_time = message.timestamp or message.original_timestamp
    timestamp = event_time(client_time, message.sent_at, received_at)

    wire = message.model_dump(by_alias=True, exclude_none=True)
    dropped.extend(_normalise_in_place(wire, message, policy, source))
    message_id = message.message_id or _content_id(shop_id, wire, received_at, source)
    wire["messageId"] = message_id
    wire["timestamp"] = iso(timestamp)
    wire["receivedAt"] = iso(received_at)
    if client_time is not None:
        wire["originalTimestamp"] = iso(client_time)
    return AcceptedEvent(
        shop_id=shop_id,
        message_id=message_id,
        received_at=received_at,
        timestamp=timestamp,
        message=wire,
        source=source,
    )


EARLIEST_EVENT = datetime(1970, 1, 1, tzinfo=UTC)


def event_time(
    client_time: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """When the event happened: the client's time corrected for its clock's skew (Segment's
    receivedAt - sentAt), never later than its arrival, which would let a future-dated event
    outrank every real one (a consent withdrawal, a newer cart)."""
    if client_time is None:
        return received_at
    try:
        moment = ensure_utc(client_time)
        if sent_at is not None:
            moment += received_at - ensure_utc(sent_at)
    except OverflowError as exc:
        raise InvalidInput("timestamp or sentAt is out of range") from exc
    if moment < EARLIEST_EVENT:
        raise InvalidInput("timestamp is before 1970")
    return min(moment, received_at)


def _check_semantics(message: SegmentMessage) -> None:
    email = message.all_traits().get("email")
    if email is not None:
        try:
            normalise_email(email)
        except InvalidInput as exc:
            raise InvalidInput(f"traits.email: {exc.message}") from exc
    if message.type == "track" and message.event:
        try:
            commerce.parse_properties(message.event, message.properties)
        except ValidationError as exc:
            reason = describe_validation_error(exc, "properties")
            raise InvalidInput(f"{message.event}: {reason}") from exc
    try:
        consent.check_consent(message)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


def _normalise_in_place(
    wire: dict[str, Any], message: SegmentMessage, policy: IntakePolicy, source: str
) -> list[str]:
    """Store contact details and push subscriptions in one canonical form, so equivalent
    numbers resolve to one profile. A phone or time zone that cannot be used is dropped (and
    reported) rather than losing the rest of the message with it; a push subscription that
    cannot be used refuses the message, since it is all the message says."""
    dropped: list[str] = []
    context = wire.get("context") if isinstance(wire.get("context"), dict) else {}
    for where, traits in (
        ("traits", wire.get("traits")),
        ("context.traits", context.get("traits")),
    ):
        if not isinstance(traits, dict):
            continue
        if traits.get("phone") is not None:
            # Imported on first use: phonenumbers' metadata costs a cold start ~75 ms.
            from comeback.domain.phone import normalise_phone

            try:
                traits["phone"] = normalise_phone(_string(traits["phone"]), policy.phone_region)
            except ValueError as exc:
                del traits["phone"]
                dropped.append(f"{where}.phone dropped: {exc}")
        if traits.get("timezone") is not None:
            try:
                zone(_string(traits["timezone"]))
            except ValueError as exc:
                del traits["timezone"]
                dropped.append(f"{where}.timezone dropped: {exc}")
    if message.type == "track" and message.event in PUSH_EVENTS:
        if source == "client" and message.user_id:
            raise InvalidInput(
                f"{message.event}: with the public write key a browser subscribes by its "
                "anonymousId (linked to the customer when they log in); a userId needs the "
                "secret key"
            )
        try:
            wire["properties"] = normalised_properties(
                message.event,
                message.properties,
                allow_loopback=policy.allow_loopback_push,
                loopback_origin=policy.loopback_push_origin,
            )
        except ValueError as exc:
            raise InvalidInput(f"{message.event}: {exc}") from exc
    return dropped


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _content_id(shop_id: str, wire: dict[str, Any], received_at: datetime, source: str) -> str:
    # A message without messageId gets one derived from its content, so that a client that
    # retries the same body is still deduplicated. Without a timestamp of its own, the minute
    # it arrived stands in: the same event sent again tomorrow is another event. Which key
    # sent it is part of the content: a browser's copy must not pre-empt the backend's
    # trusted call (which may merge profiles or grant SMS consent).
    content = {k: v for k, v in wire.items() if k not in ("sentAt", "writeKey")}
    content["source"] = source
    if "timestamp" not in content and "originalTimestamp" not in content:
        content["arrivedMinute"] = received_at.strftime("%Y-%m-%dT%H:%M")
    canonical = json.dumps(json.loads(dumps(content)), sort_keys=True, separators=(",", ":"))
    return "server-" + hashlib.sha256(f"{shop_id}|{canonical}".encode()).hexdigest()[:32]


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """Pydantic's errors as one line a client can act on: `field.path: reason; ...` (the
    first five). Also used for shop settings (services.shop_settings)."""
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        location = ".".join(str(p) for p in error["loc"])
        if prefix:
            location = f"{prefix}.{location}" if location else prefix
        message = error["msg"].removeprefix("Value error, ")
        # A validator's own message may already start with the field it names.
        named = not location or message.startswith((f"{location}:", f"{location}."))
        parts.append(message if named else f"{location}: {message}")
    return "; ".join(parts)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
