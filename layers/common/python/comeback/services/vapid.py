"""Creating the VAPID key pair the sender signs web push requests with, inside AWS.

CloudFormation can only generate random strings, not an EC key pair, so the stack creates an
empty secret and this fills it once. Replacing a key pair orphans every browser subscription
made with the old public key, so an existing pair is kept unless replacing is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from comeback.adapters.webpush import VapidKeys


@dataclass(frozen=True)
class VapidInstall:
    keys: VapidKeys
    created: bool


def install_vapid_keys(
    secrets_client: Any, secret_id: str, subject: str, *, replace: bool = False
) -> VapidInstall:
    """The pair in the secret, generated and stored if it holds none (or `replace`)."""
    current = secrets_client.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    if current.strip().startswith("{") and not replace:
        existing = VapidKeys.from_json(current)
        if existing.subject == subject:
            return VapidInstall(existing, created=False)
        # Same keys, new contact: the subject is only a claim, subscriptions stay valid.
        keys = VapidKeys(existing.private_key, existing.public_key, subject)
    else:
        keys = VapidKeys.generate(subject)
    secrets_client.put_secret_value(SecretId=secret_id, SecretString=keys.to_json())
    return VapidInstall(keys, created=True)
