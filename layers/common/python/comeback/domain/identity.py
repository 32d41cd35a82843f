"""Which profile an event belongs to, from the identifiers it carries.

Identifiers are typed strings (`user:42`, `email:ann@shop.test`, `phone:+4930…`,
`loyalty:AB12345`, `ext:crm:991`, `device:…`, `anon:abc`). Precedence is user id, then email,
phone (E.164), loyalty card number, the shop's own ids (Segment's `context.externalIds`), then
the device id (`context.device.id`) and anonymous ids: a logged-in person is who they say they
are, whatever device they use. Devices are not people: a device or anonymous id never joins
two known profiles (see domain.merging).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from comeback.domain.contact import normalise_email
from comeback.errors import InvalidInput
from comeback.models.events import SegmentMessage

USER = "user"
EMAIL = "email"
PHONE = "phone"
LOYALTY = "loyalty"
EXTERNAL = "ext"
DEVICE = "device"
ANONYMOUS = "anon"
# Identifiers of a device rather than a person.
DEVICE_IDENTIFIERS = frozenset({DEVICE, ANONYMOUS})
MAX_IDENTIFIER_TEXT = 256
MAX_EXTERNAL_IDS = 5
# Loyalty card numbers as people type them: spaces and dashes are not part of the number.
_CARD_SEPARATORS = str.maketrans("", "", " -")


def loyalty_card(value: object) -> str | None:
    """A loyalty card number, normalised (separators dropped, upper case), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    card = value.translate(_CARD_SEPARATORS).upper()
    return card if card.isalnum() and len(card) <= MAX_IDENTIFIER_TEXT else None


def _text_id(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if text and len(text) <= MAX_IDENTIFIER_TEXT and text.isprintable() else None


def external_ids(context: dict) -> list[str]:
    """The shop's own ids of a person (`context.externalIds`: `[{"type", "id"}]`)."""
    found = []
    entries = context.get("externalIds")
    for entry in entries[:MAX_EXTERNAL_IDS] if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        kind, value = _text_id(entry.get("type")), _text_id(entry.get("id"))
        if kind and value and ":" not in kind:
            found.append(f"{EXTERNAL}:{kind.lower()}:{value}")
    return found


def identifiers_of(message: SegmentMessage) -> list[str]:
    """The event's identifiers in precedence order, normalised."""
    found: list[str] = []
    if message.user_id:
        found.append(f"{USER}:{message.user_id}")
    email = message.all_traits().get("email")
    if email is not None:
        # Refused at intake; an event queued before that rule is applied without it.
        with contextlib.suppress(InvalidInput):
            found.append(f"{EMAIL}:{normalise_email(email)}")
    phone = message.all_traits().get("phone")
    if isinstance(phone, str) and phone.startswith("+"):  # E.164, as the intake stores it
        found.append(f"{PHONE}:{phone}")
    traits = message.all_traits()
    card = loyalty_card(traits.get("loyalty_card", traits.get("loyaltyCard")))
    if card:
        found.append(f"{LOYALTY}:{card}")
    found += external_ids(message.context)
    device = message.context.get("device")
    device_id = _text_id(device.get("id")) if isinstance(device, dict) else None
    if device_id:
        found.append(f"{DEVICE}:{device_id}")
    for anonymous in (message.anonymous_id, message.previous_id):
        if anonymous:
            found.append(f"{ANONYMOUS}:{anonymous}")
    if message.type == "alias" and message.previous_id:
        # Segment's `previousId` is whatever the person was known by: an anonymous id or a
        # former user id. Both now lead to the new user (domain.merging joins the profiles).
        found.append(f"{USER}:{message.previous_id}")
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Resolution:
    profile_id: str | None  # None: a new profile is needed
    new_links: tuple[str, ...]  # identifiers to point at the profile


def resolve(
    identifiers: list[str],
    links: dict[str, str],
    owners: dict[str, str | frozenset[str] | None],
) -> Resolution:
    """Pick the profile for an event.

    `links` maps identifiers already known to their profile; `owners` maps those profiles to
    their user id, or the set of user ids a merged profile answers to (None or empty for
    anonymous profiles). An anonymous profile joins the first user
    who identifies on it; a profile already owned by another user is never taken over (a
    shared device), and the event goes to the logged-in user's profile instead.
    """
    user = next((i.split(":", 1)[1] for i in identifiers if i.startswith(f"{USER}:")), None)
    chosen: str | None = None
    for identifier in identifiers:
        profile_id = links.get(identifier)
        if profile_id is None:
            continue
        owner = owners.get(profile_id)
        owned_by = owner if isinstance(owner, frozenset) else frozenset(filter(None, [owner]))
        if user is not None and owned_by and user not in owned_by:
            continue
        chosen = profile_id
        break
    new_links = tuple(i for i in identifiers if i not in links)
    return Resolution(profile_id=chosen, new_links=new_links)
