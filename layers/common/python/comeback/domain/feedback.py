"""Reading SES feedback (bounces and complaints) into the suppressions it calls for.

SES publishes an event for each bounce and complaint of a message sent through our
configuration set, with the tags the sender put on the message: `shop` (whose customer the
address is) and `kind` (which message it was). Only two outcomes stop email to an address:
a permanent bounce (the mailbox does not exist, so every retry hurts the sender's reputation)
and a complaint (the person called it spam). A transient or undetermined bounce is a full
mailbox or a server having a bad day, so it suppresses nobody.

Both forms SES uses are read: event publishing (`eventType`, what a configuration set
sends) and the older identity notifications (`notificationType`); their bounce and complaint
objects have the same shape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from comeback.clock import ensure_utc, parse_iso
from comeback.domain.contact import normalise_email
from comeback.errors import ComebackError, InvalidInput

HARD_BOUNCE = "hard_bounce"
COMPLAINT = "complaint"
# A stronger reason replaces a weaker one on record, never the reverse: someone who
# complained stays a complainer even if their mailbox is later deleted.
# A person erased at their request (services.privacy): the one trace kept of them.
ERASED = "erased"
SEVERITY: dict[str, int] = {HARD_BOUNCE: 1, COMPLAINT: 2, ERASED: 3}

# The SES message tags the sender puts on every email (SES `EmailTags`), read back here.
SHOP_TAG = "shop"
KIND_TAG = "kind"

BOUNCE = "Bounce"
COMPLAINT_EVENT = "Complaint"
PERMANENT = "Permanent"
# A feedback report saying the message is *not* spam (RFC 5965 `not-spam`) corrects an
# earlier report; it is no complaint.
NOT_SPAM = "not-spam"

# The shape `services.shops.create_shop` gives shop ids; anything else cannot be one of ours.
_SHOP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class InvalidFeedback(ComebackError):
    """A notification that cannot be acted on. Retrying cannot fix it, so it is dropped.

    The message never quotes the notification: it may hold addresses.
    """


@dataclass(frozen=True)
class Suppression:
    """One address a shop must stop emailing, and why."""

    address: str
    reason: str
    at: datetime
    shop_id: str


@dataclass(frozen=True)
class Feedback:
    """What one SES notification says, reduced to what we act on."""

    event_type: str
    suppressions: tuple[Suppression, ...]
    # SES's id of the message the feedback is about, and the message kind tagged on it:
    # for logs (neither is personal data).
    ses_message_id: str | None = None
    message_kind: str | None = None
    # Recipients whose address could not be read (dropped; the others still count).
    unreadable_recipients: int = 0


def message_tags(shop_id: str, kind: str) -> dict[str, str]:
    """The tags to send each email with (SES `EmailTags`, name to value), so that its bounces
    and complaints name their shop. Tag values may hold letters, digits, `_` and `-` only,
    which shop ids and message kinds keep to."""
    if not _SHOP_ID.match(shop_id):
        raise ValueError("shop id cannot be an SES tag value")
    if not _KIND.match(kind):
        raise ValueError("message kind cannot be an SES tag value")
    return {SHOP_TAG: shop_id, KIND_TAG: kind}


def parse_notification(text: str, *, received_at: datetime) -> Feedback:
    """The suppressions one SES notification (an SNS message's text) calls for.

    `received_at` stands in for a missing or unreadable event time, and caps one from a
    clock running ahead. Raises InvalidFeedback when the text is not an SES notification, or
    a bounce or complaint is incomplete or does not name a valid shop.
    """
    notification = _object(text)
    event_type = notification.get("eventType", notification.get("notificationType"))
    if not isinstance(event_type, str):
        raise InvalidFeedback("not an SES notification: no eventType or notificationType")
    shape = _SHAPES.get(event_type)
    if shape is None:
        # Deliveries, opens, the notice SES sends when a destination is set up: nothing here
        # for us, and nothing wrong either.
        return Feedback(event_type, ())
    details_field, recipients_field, reason = shape
    mail = notification.get("mail")
    if not isinstance(mail, dict):
        raise InvalidFeedback(f"SES {event_type} notification without its mail object")
    details = notification.get(details_field)
    if not isinstance(details, dict):
        raise InvalidFeedback(f"SES {event_type} notification without its {details_field}")
    ses_message_id = _text(mail.get("messageId"))
    kind = _tag(mail, KIND_TAG)
    message_kind = kind if kind is not None and _KIND.match(kind) else None
    if not _suppresses(reason, details):
        return Feedback(event_type, (), ses_message_id, message_kind)

    shop_id = _shop_id(mail)
    received_at = ensure_utc(received_at)
    at = min(_time(details.get("timestamp")) or received_at, received_at)
    recipients = details.get(recipients_field)
    if not isinstance(recipients, list) or not recipients:
        raise InvalidFeedback(f"SES {event_type} notification without {recipients_field}")
    addresses: dict[str, None] = {}  # in order, once each
    unreadable = 0
    for recipient in recipients:
        raw = recipient.get("emailAddress") if isinstance(recipient, dict) else None
        try:
            addresses[normalise_email(raw)] = None
        except InvalidInput:
            unreadable += 1
    suppressions = tuple(Suppression(address, reason, at, shop_id) for address in addresses)
    return Feedback(event_type, suppressions, ses_message_id, message_kind, unreadable)


# Event type -> (its details object, the recipients list in it, the reason it may give).
_SHAPES: dict[str, tuple[str, str, str]] = {
    BOUNCE: ("bounce", "bouncedRecipients", HARD_BOUNCE),
    COMPLAINT_EVENT: ("complaint", "complainedRecipients", COMPLAINT),
}


def _suppresses(reason: str, details: dict[str, Any]) -> bool:
    if reason == HARD_BOUNCE:
        return details.get("bounceType") == PERMANENT
    return details.get("complaintFeedbackType") != NOT_SPAM


def _object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidFeedback("SNS message is not JSON") from exc
    if not isinstance(value, dict):
        raise InvalidFeedback("SNS message is not a JSON object")
    return value


def _tag(mail: dict[str, Any], name: str) -> str | None:
    """A message tag's value: SES gives each tag as a list of values."""
    tags = mail.get("tags")
    values = tags.get(name) if isinstance(tags, dict) else None
    if isinstance(values, list) and values:
        return _text(values[0])
    return None


def _shop_id(mail: dict[str, Any]) -> str:
    shop_id = _tag(mail, SHOP_TAG)
    if shop_id is None:
        raise InvalidFeedback(f"message has no '{SHOP_TAG}' tag: cannot tell whose it was")
    if not _SHOP_ID.match(shop_id):
        raise InvalidFeedback(f"message's '{SHOP_TAG}' tag is not a valid shop id")
    return shop_id


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None
