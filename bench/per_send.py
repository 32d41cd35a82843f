"""Sends per second through the sender, one channel at a time, on the local stack.

One shop per channel, whose channel order names that channel alone, and N customers who
consented to it with an abandoned cart each. The carts are entered through the HTTP API and
processed, the sweep claims the due reminders, and only the sender's run is timed: the real
handler draining the send queue with three instances, as Lambda would scale it out. Email
goes to moto's SES, SMS to moto's SNS, push to the loopback push service, which decrypts and
verifies every message it gets (that work is in the figure too: it runs on the same CPUs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from comeback.local.stack import LocalStack
from comeback.models.journey import Journey, JourneyStep
from comeback.models.shop import ShopSettings
from comeback.services.shops import create_shop
from counting import CallLog

CHANNELS = ("email", "sms", "push")
HEADERS = ("channel", "messages", "sent", "seconds", "sends/s", "DynamoDB req/send")


@dataclass(frozen=True)
class SendRun:
    channel: str
    messages: int
    sent: int
    seconds: float
    dynamodb_requests: int


def measure(stack: LocalStack, start: datetime, customers: int, dynamodb: CallLog) -> list[SendRun]:
    runs = []
    for number, channel in enumerate(CHANNELS):
        at = start + timedelta(days=number)
        stack.clock.set(at)
        shop = create_shop(
            stack.store(),
            shop_id=f"bench-send-{channel}",
            name="Bench Send",
            settings=ShopSettings(
                from_address="hello@shop.example.com",
                site_url="https://shop.example.com",
                channel_order={"cart_recovery": [channel]},
                # One reminder by this channel, nobody held out: the sender's cost per message.
                journeys={
                    "cart_recovery": Journey(
                        steps=[JourneyStep(delay_minutes=60, channels=[channel])],
                        holdout_percent=0,
                    )
                },
                quiet_hours_start=None,
                quiet_hours_end=None,
            ),
            now=at,
        )
        # The shop's backend (secret key): SMS consent never counts from the public write key.
        _abandon_carts(stack, shop.secret_key, channel, customers, at)
        stack.clock.set(at + timedelta(hours=1, minutes=5))
        stack.process_events()
        stack.run_sweeps()
        dynamodb.reset()
        began = time.perf_counter()
        result = stack.send_messages()
        seconds = time.perf_counter() - began
        sent = sum(
            1
            for item in stack.store().scan_shop_items(shop.shop_id)
            if item.get("kind") == "send" and item.get("status") == "sent"
        )
        runs.append(SendRun(channel, result.succeeded, sent, seconds, len(dynamodb.calls())))
    return runs


def _abandon_carts(stack: LocalStack, key: str, channel: str, customers: int, at: datetime) -> None:
    from comeback.local.replay import TrackingClient

    client = TrackingClient(stack.api.url, key)
    batch = []
    for i in range(customers):
        anonymous = f"{channel}-{i}"
        traits: dict[str, object] = {"consent": {channel: True}}
        if channel == "email":
            traits["email"] = f"bench-{i}@example.com"
        elif channel == "sms":
            traits["phone"] = f"+491511234{i:04d}"  # moto treats numbers ending 99 as opted out
        else:
            sub = stack.push_peer.new_subscriber().subscription
            batch.append(
                {
                    "type": "track",
                    "anonymousId": anonymous,
                    "event": "Push Subscription Added",
                    "timestamp": at.isoformat(),
                    "properties": {
                        "subscription": {
                            "endpoint": sub.endpoint,
                            "keys": {"p256dh": sub.p256dh, "auth": sub.auth},
                        }
                    },
                }
            )
        batch.append(
            {
                "type": "identify",
                "anonymousId": anonymous,
                "traits": traits,
                "timestamp": at.isoformat(),
            }
        )
        batch.append(
            {
                "type": "track",
                "anonymousId": anonymous,
                "event": "Product Added",
                "timestamp": at.isoformat(),
                "properties": {"product_id": "sku-1", "name": "Mug", "price": 12, "quantity": 1},
            }
        )
    client.send_batch(batch, sent_at=at.isoformat())
    if client.rejected:
        raise RuntimeError(f"the bench's own events were refused: {client.errors[:3]}")


def rows(runs: list[SendRun]) -> list[tuple[object, ...]]:
    return [
        (
            run.channel,
            run.messages,
            run.sent,
            round(run.seconds, 2),
            round(run.sent / run.seconds, 1) if run.seconds else 0,
            round(run.dynamodb_requests / run.sent, 1) if run.sent else "-",
        )
        for run in runs
    ]
