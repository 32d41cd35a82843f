"""Which channel a message goes by: the shop's order for that kind of message, keeping only
channels where consent holds now and the person can be reached."""

from __future__ import annotations

from dataclasses import dataclass

from comeback.models.profile import Channel, Profile
from comeback.models.shop import DEFAULT_CHANNEL_ORDER, ShopSettings

FALLBACK_ORDER: list[Channel] = ["email", "push", "sms"]


@dataclass(frozen=True)
class ChannelChoice:
    usable: tuple[Channel, ...]  # in the order to try them
    refused: dict[str, str]  # channel -> why it cannot be used

    @property
    def reason(self) -> str:
        """Why nothing can be sent, when `usable` is empty."""
        if any(reason == "no_address" for reason in self.refused.values()):
            return "no_address"
        if any(reason == "suppressed" for reason in self.refused.values()):
            return "suppressed"
        return "no_consent"


def channel_order(kind: str, settings: ShopSettings) -> list[Channel]:
    return list(
        settings.channel_order.get(kind) or DEFAULT_CHANNEL_ORDER.get(kind) or FALLBACK_ORDER
    )


def choose_channels(
    profile: Profile,
    kind: str,
    settings: ShopSettings,
    *,
    email_suppressed: bool,
    order: list[Channel] | None = None,
    transactional: bool = False,
) -> ChannelChoice:
    """`order`: a journey step's own channels, instead of the shop's order for the kind. A
    `transactional` message (the person's own order) goes by email without marketing consent
    (a bounced or complaining address stays suppressed); push and SMS still need consent."""
    usable: list[Channel] = []
    refused: dict[str, str] = {}
    for channel in order or channel_order(kind, settings):
        needs_consent = not (transactional and channel == "email")
        if needs_consent and not profile.has_consent(channel):
            refused[channel] = "no_consent"
        elif not _reachable(profile, channel):
            refused[channel] = "no_address"
        elif channel == "email" and email_suppressed:
            refused[channel] = "suppressed"
        else:
            usable.append(channel)
    return ChannelChoice(tuple(usable), refused)


def _reachable(profile: Profile, channel: Channel) -> bool:
    if channel == "email":
        return bool(profile.email)
    if channel == "sms":
        return bool(profile.phone)
    return bool(profile.push_endpoints)
