"""The deployment's settings, read from CDK context (cdk.json or `-c key=value`)."""

from __future__ import annotations

import re

from constructs import Node

SENDER_DOMAIN_CONTEXT = "senderDomain"
ALARM_EMAIL_CONTEXT = "alarmEmail"
# What cdk.json ships with; `.invalid` can never be registered (RFC 2606), so nobody sends
# mail from it by mistake: the app refuses it and asks for the real domain.
SENDER_DOMAIN_PLACEHOLDER = "mail.change-me.invalid"

_MAX_DOMAIN_LENGTH = 253
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^(?:{_LABEL}\.)+{_LABEL}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConfigError(ValueError):
    """The CDK context is missing a setting or holds an unusable one."""


def sender_domain(node: Node) -> str:
    """The domain mail is sent from (ideally a subdomain such as `mail.yourshop.com`)."""
    value = node.try_get_context(SENDER_DOMAIN_CONTEXT)
    how_to_set = (
        f'set "{SENDER_DOMAIN_CONTEXT}" in cdk.json or pass '
        f"-c {SENDER_DOMAIN_CONTEXT}=mail.yourshop.com (see docs/deploy.md)"
    )
    if not value:
        raise ConfigError(f"No sender domain: {how_to_set}.")
    if value == SENDER_DOMAIN_PLACEHOLDER:
        raise ConfigError(
            f"The sender domain is still the placeholder {SENDER_DOMAIN_PLACEHOLDER!r}: "
            f"{how_to_set}."
        )
    domain = str(value).strip().lower().rstrip(".")
    if len(domain) > _MAX_DOMAIN_LENGTH or not _DOMAIN.match(domain):
        raise ConfigError(f"The sender domain {value!r} is not a domain name: {how_to_set}.")
    return domain


def alarm_email(node: Node) -> str | None:
    """Where alarm notifications go, if anywhere (the topic can also be subscribed later)."""
    value = node.try_get_context(ALARM_EMAIL_CONTEXT)
    if not value:
        return None
    if not _EMAIL.match(str(value)):
        raise ConfigError(f"{ALARM_EMAIL_CONTEXT} {value!r} is not an email address.")
    return str(value)
