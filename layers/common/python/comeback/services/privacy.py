"""Privacy rights, for the shop's backend (secret key only): read a person's profile by any
identifier, export everything held about them, erase them.

A person is their profile and every profile merged into it (`merged_from`). Erasure deletes
all of it, in an order that stops messages first: the email address is suppressed (the one
trace kept, as a digest), then timers, identity links, push subscriptions and raw events go,
and the profile partition (profile, send records, push attempts) last, so a run that stops
half-way can simply be run again with any identifier that still finds them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from comeback import keys
from comeback.adapters.personal_data import PersonalData
from comeback.adapters.store import Store
from comeback.adapters.suppressions import Suppressions
from comeback.domain.contact import normalise_email
from comeback.domain.feedback import ERASED
from comeback.domain.identity import (
    ANONYMOUS,
    DEVICE,
    EMAIL,
    LOYALTY,
    PHONE,
    USER,
    loyalty_card,
)
from comeback.domain.merging import MAX_MERGE_HOPS, identifiers_of_profile
from comeback.domain.phone import normalise_phone
from comeback.errors import InvalidInput, NotFound
from comeback.models.profile import Profile

# Query or body fields naming a person, and the identifier type each stands for.
IDENTIFIER_FIELDS = {
    "userId": USER,
    "anonymousId": ANONYMOUS,
    "email": EMAIL,
    "phone": PHONE,
    "loyaltyCard": LOYALTY,
    "deviceId": DEVICE,
}
MAX_IDENTIFIER_LENGTH = 320


def identifier_from(fields: dict[str, Any], phone_region: str | None) -> str:
    """The one identifier a request names (`userId`, `anonymousId`, `email` or `phone`),
    normalised as profiles keep it."""
    named = {k: v for k, v in fields.items() if k in IDENTIFIER_FIELDS and v not in (None, "")}
    if len(named) != 1:
        raise InvalidInput(f"name the person by exactly one of {', '.join(IDENTIFIER_FIELDS)}")
    [(field, value)] = named.items()
    if not isinstance(value, str) or len(value) > MAX_IDENTIFIER_LENGTH:
        raise InvalidInput(f"`{field}` must be text of at most {MAX_IDENTIFIER_LENGTH} characters")
    kind = IDENTIFIER_FIELDS[field]
    if kind == EMAIL:
        value = normalise_email(value)
    elif kind == PHONE:
        value = normalise_phone(value, phone_region)
    elif kind == LOYALTY:
        card = loyalty_card(value)
        if card is None:
            raise InvalidInput("`loyaltyCard` must be letters and digits")
        value = card
    else:
        value = value.strip()
    return f"{kind}:{value}"


@dataclass(frozen=True)
class Person:
    profile: Profile
    absorbed: list[Profile]

    @property
    def profiles(self) -> list[Profile]:
        return [self.profile, *self.absorbed]

    @property
    def profile_ids(self) -> set[str]:
        return {p.profile_id for p in self.profiles}

    def identifiers(self) -> list[str]:
        return list(dict.fromkeys(i for p in self.profiles for i in identifiers_of_profile(p)))

    def endpoint_digests(self) -> list[str]:
        return list(dict.fromkeys(d for p in self.profiles for d in p.push_endpoints))


def find_person(store: Store, shop_id: str, identifier: str) -> Person:
    """The person an identifier leads to (through any merge), or NotFound."""
    links = store.find_links(shop_id, [identifier])
    profile = store.get_profile(shop_id, links[identifier]) if identifier in links else None
    for _ in range(MAX_MERGE_HOPS):
        if profile is None or profile.merged_into is None:
            break
        profile = store.get_profile(shop_id, profile.merged_into)
    if profile is None:
        raise NotFound("no profile for that identifier")
    absorbed = store.get_profiles(shop_id, profile.merged_from) if profile.merged_from else {}
    return Person(profile, list(absorbed.values()))


def export_person(data: PersonalData, shop_id: str, person: Person) -> dict[str, Any]:
    """Everything held about a person, as JSON-ready data."""
    partitions = [
        i for pid in sorted(person.profile_ids) for i in data.profile_partition(shop_id, pid)
    ]
    sends = [
        {k: v for k, v in item.items() if k not in ("pk", "sk", "shop_id")}
        for item in partitions
        if item.get("kind") == "send"
    ]
    subscriptions = data.push_subscriptions(shop_id, person.profile_ids, person.endpoint_digests())
    scattered = data.items_of(shop_id, person.profile_ids)
    events = sorted(
        (i for i in scattered if i.get("kind") == "event"), key=lambda e: str(e.get("timestamp"))
    )
    kept_apart = ("event", "send", "identity", "profile", "push_subscription", "push_attempt")
    other = [
        {k: v for k, v in item.items() if k not in ("pk", "sk", "shop_id", "expires_at")}
        for item in scattered
        if item.get("kind") not in kept_apart
    ]
    return {
        "profile": person.profile.model_dump(mode="json"),
        "merged_profiles": [p.model_dump(mode="json") for p in person.absorbed],
        "identifiers": person.identifiers(),
        "consents": {
            channel: decision.model_dump(mode="json")
            for channel, decision in person.profile.consent.items()
        },
        "events": [
            {
                "timestamp": e.get("timestamp"),
                "received_at": e.get("received_at"),
                "message": json.loads(e["body"]),
            }
            for e in events
        ],
        "messages": sends,
        # Anything else kept about them (product watches for stock and price alerts, ...).
        "other": other,
        "push_subscriptions": [
            {k: s.get(k) for k in ("endpoint", "registered_at", "removed_at") if s.get(k)}
            for s in subscriptions
        ],
    }


def _partitions(shop_id: str, profile_ids: set[str]) -> set[str]:
    """The profile partitions, deleted last (the profile is what finds the person again)."""
    return {keys.profile_pk(shop_id, pid) for pid in profile_ids}


@dataclass(frozen=True)
class Erasure:
    profiles: int
    items_deleted: int
    email_suppressed: bool


def erase_person(
    data: PersonalData,
    suppressions: Suppressions,
    shop_id: str,
    person: Person,
    now: datetime,
) -> Erasure:
    ids = person.profile_ids
    emails = {p.email for p in person.profiles if p.email}
    for address in sorted(emails):
        suppressions.suppress(shop_id, address, ERASED, now)
    deleted = 0
    for pid in sorted(ids):
        deleted += data.delete(data.timers(shop_id, pid), timers=True)
    links = [
        link for link in data.links(shop_id, person.identifiers()) if link["profile_id"] in ids
    ]
    deleted += data.delete(links)
    deleted += data.delete(data.push_subscriptions(shop_id, ids, person.endpoint_digests()))
    # Everything else that names them: raw events, product watches, any link or browser the
    # lookups above did not reach (one scan; see adapters.personal_data).
    deleted += data.delete(
        [i for i in data.items_of(shop_id, ids) if i["pk"] not in _partitions(shop_id, ids)]
    )
    # Absorbed profiles first, the profile that leads to them last.
    for profile in [*person.absorbed, person.profile]:
        deleted += data.delete(data.profile_partition(shop_id, profile.profile_id))
    return Erasure(len(ids), deleted, bool(emails))
