"""Consent as clients state it: which channel, granted or withdrawn, and through what.

Accepted forms (anything else naming consent is refused at intake, so that a withdrawal that
would silently change nothing is never answered with 200):
- traits (identify or `context.traits`): `email_consent` / `emailConsent` (and `sms_`,
  `push_`), or `consent: {"email": true, ...}`;
- `track "Consent Updated"`: `properties.channel` + `properties.granted`, or
  `properties.consent: {"email": false, ...}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from comeback.models.events import SegmentMessage
from comeback.models.profile import CHANNELS

CONSENT_UPDATED = "Consent Updated"
_TRAIT_NAMES = {
    "email": ("email_consent", "emailConsent", "email_opt_in", "emailOptIn"),
    "sms": ("sms_consent", "smsConsent"),
    "push": ("push_consent", "pushConsent"),
}


@dataclass(frozen=True)
class Statement:
    channel: str
    granted: bool
    source: str


def statements(message: SegmentMessage) -> list[Statement]:
    """Every consent decision a message states; ValueError if one is malformed."""
    found: list[Statement] = []
    traits = message.all_traits()
    found += _from_mapping(traits.get("consent"), "identify", "traits.consent")
    for channel, names in _TRAIT_NAMES.items():
        for name in names:
            if name in traits:
                found.append(Statement(channel, _flag(traits[name], f"traits.{name}"), "identify"))
    if message.type == "track" and message.event == CONSENT_UPDATED:
        properties = message.properties
        if "channel" in properties or "granted" in properties:
            channel = properties.get("channel")
            if channel not in CHANNELS:
                raise ValueError(f"properties.channel must be one of {', '.join(CHANNELS)}")
            found.append(
                Statement(
                    channel, _flag(properties.get("granted"), "properties.granted"), "consent_event"
                )
            )
        found += _from_mapping(properties.get("consent"), "consent_event", "properties.consent")
        if not found:
            raise ValueError("Consent Updated needs properties.channel and properties.granted")
    return found


def check_consent(message: SegmentMessage) -> None:
    statements(message)


def _from_mapping(value: Any, source: str, where: str) -> list[Statement]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise ValueError(f'{where} must be an object such as {{"email": true}}')
    unknown = sorted(set(value) - set(CHANNELS))
    if unknown:
        raise ValueError(f"{where}: unknown channel {unknown[0]!r}")
    return [
        Statement(channel, _flag(flag, f"{where}.{channel}"), source)
        for channel, flag in value.items()
    ]


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where} must be true or false")
    return value
