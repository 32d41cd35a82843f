"""Helpers for tests that read what the embedded AWS holds."""

import json
import urllib.request
from email import message_from_string, policy


def sent_emails(stack, recipient):
    """Emails SES accepted for one recipient, parsed, read back from moto's server."""
    with urllib.request.urlopen(f"{stack.aws.endpoint}/moto-api/data.json") as response:
        data = json.loads(response.read())
    messages = {
        m["id"]: m
        for m in data.get("ses", {}).get("RawMessage", [])
        if recipient in m["destinations"]
    }
    return [message_from_string(m["raw_data"], policy=policy.default) for m in messages.values()]


def profile_of(stack, shop_id, user_id):
    store = stack.store()
    links = store.find_links(shop_id, [f"user:{user_id}"])
    if not links:
        return None
    return store.get_profile(shop_id, links[f"user:{user_id}"])


def shop_items(stack, shop_id, kind):
    return [i for i in stack.store().scan_shop_items(shop_id) if i.get("kind") == kind]


def subscribe(shop, subscriber, anonymous="anon-1"):
    """A browser (a push peer subscriber) subscribing through the push API, write key."""
    sub = subscriber.subscription
    status, body = shop.post(
        "/v1/push/subscribe",
        {
            "anonymousId": anonymous,
            "subscription": {
                "endpoint": sub.endpoint,
                "keys": {"p256dh": sub.p256dh, "auth": sub.auth},
            },
        },
    )
    assert status == 200, body
