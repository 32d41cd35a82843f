"""Helpers for tests that read what the embedded AWS holds."""

import json
import threading
import urllib.request
from email import message_from_bytes, message_from_string, policy


class Outbox:
    """Every email SES (moto's server) accepted from this test process, noted from the SES
    client's own request and answer. Reading them back from moto's `/moto-api/data.json`
    serialises every object moto holds, which grows slow as a session's tables fill;
    `moto_sent_emails` does that, and a test checks that both agree."""

    def __init__(self):
        self._sent = []  # (recipient, raw bytes)
        self._lock = threading.Lock()

    def install(self, session):
        session.events.register("before-parameter-build.sesv2.SendEmail", self._before)
        session.events.register("after-call.sesv2.SendEmail", self._after)

    def _before(self, params, context, **kwargs):
        context["comeback_outbox"] = params

    def _after(self, http_response, parsed, context, **kwargs):
        request = context.get("comeback_outbox")
        if request is None or http_response.status_code != 200 or not parsed.get("MessageId"):
            return
        raw = request["Content"]["Raw"]["Data"]
        for recipient in request.get("Destination", {}).get("ToAddresses", []):
            with self._lock:
                self._sent.append((recipient, raw))

    def to(self, recipient):
        with self._lock:
            raws = [raw for to, raw in self._sent if to == recipient]
        return [message_from_bytes(raw, policy=policy.default) for raw in raws]


OUTBOX = Outbox()


def sent_emails(stack, recipient):
    """Emails SES accepted for one recipient, parsed (see Outbox)."""
    return OUTBOX.to(recipient)


def moto_sent_emails(stack, recipient):
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
