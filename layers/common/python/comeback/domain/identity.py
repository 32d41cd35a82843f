"""Which profile an event belongs to, from the identifiers it carries.

Identifiers are typed strings (`user:42`, `anon:abc`, `email:ann@shop.test`, `phone:+4930…`).
Precedence is user id, then email, then phone (E.164), then anonymous id: a logged-in person is
who they say they are, whatever device they use.
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
ANONYMOUS = "anon"


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
