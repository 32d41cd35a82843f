"""Browser push subscriptions as tracking events, so they travel the same durable path as every
other event and land on the right profile.

`track "Push Subscription Added"` carries the browser's `PushSubscription.toJSON()` shape in
`properties.subscription` (`endpoint`, `keys.p256dh`, `keys.auth`); `"Push Subscription
Removed"` carries `properties.endpoint` (or the same `subscription`). The intake validates and
normalises them (see `domain.push.normalise_subscription`); the processor stores them.
"""

from __future__ import annotations

from typing import Any

from comeback.domain.push import PushSubscription, normalise_subscription, push_service_origin

PUSH_SUBSCRIBED = "Push Subscription Added"
PUSH_UNSUBSCRIBED = "Push Subscription Removed"
PUSH_EVENTS = frozenset({PUSH_SUBSCRIBED, PUSH_UNSUBSCRIBED})


def subscription_from(
    properties: dict[str, Any], *, allow_loopback: bool, loopback_origin: str | None = None
) -> PushSubscription:
    """The normalised subscription of a `Push Subscription Added`; ValueError if unusable."""
    raw = properties.get("subscription")
    if not isinstance(raw, dict):
        raise ValueError("properties.subscription must be the browser's PushSubscription JSON")
    keys = raw.get("keys")
    if not isinstance(keys, dict):
        raise ValueError("properties.subscription.keys must hold p256dh and auth")
    endpoint, p256dh, auth = raw.get("endpoint"), keys.get("p256dh"), keys.get("auth")
    if not all(isinstance(v, str) for v in (endpoint, p256dh, auth)):
        raise ValueError("subscription endpoint, keys.p256dh and keys.auth must be strings")
    sub = normalise_subscription(endpoint, p256dh, auth, allow_loopback=allow_loopback)
    if loopback_origin is not None and push_service_origin(sub.endpoint) != loopback_origin:
        # Local runs: only the local push service, not any other server on this machine.
        raise ValueError(f"in a local run push endpoints must be at {loopback_origin}")
    return sub


def endpoint_from(properties: dict[str, Any]) -> str:
    """The endpoint a `Push Subscription Removed` names; ValueError if none."""
    endpoint = properties.get("endpoint")
    if endpoint is None and isinstance(properties.get("subscription"), dict):
        endpoint = properties["subscription"].get("endpoint")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 1024:
        raise ValueError("properties.endpoint must name the subscription's endpoint URL")
    return endpoint


def normalised_properties(
    event: str,
    properties: dict[str, Any],
    *,
    allow_loopback: bool,
    loopback_origin: str | None = None,
) -> dict[str, Any]:
    """The properties as stored: keys in one form, so every later reader can trust them."""
    if event == PUSH_SUBSCRIBED:
        sub = subscription_from(
            properties, allow_loopback=allow_loopback, loopback_origin=loopback_origin
        )
        rest = {k: v for k, v in properties.items() if k != "subscription"}
        return {
            **rest,
            "subscription": {
                "endpoint": sub.endpoint,
                "keys": {"p256dh": sub.p256dh, "auth": sub.auth},
            },
        }
    return {**properties, "endpoint": endpoint_from(properties)}
