"""`comeback local`: the stack kept running on the real clock, for a person to post events at."""

from __future__ import annotations

import json
import signal
import sys
import time
import warnings

from comeback.clock import SystemClock
from comeback.domain.webhooks import PLATFORMS
from comeback.local.push_peer import Subscriber
from comeback.local.stack import LocalStack
from comeback.models.journey import Incentive, Journey, JourneyStep
from comeback.models.shop import ShopSettings
from comeback.services.shops import ShopKeys, create_shop
from comeback.services.webhook_secrets import install_webhook_secret

SENDER_DOMAIN = "shop.example.com"  # synthetic: a reserved domain (RFC 2606)
# The shipped cart journey's three steps in minutes, not hours, for a person trying it out:
# nobody held out and no re-entry cooldown, so every cart you abandon gets its reminders.
LOCAL_JOURNEYS = {
    "cart_recovery": Journey(
        steps=[
            JourneyStep(delay_minutes=1, channels=["push"]),
            JourneyStep(delay_minutes=5, channels=["email", "sms"]),
            JourneyStep(
                delay_minutes=10,
                channels=["email", "push", "sms"],
                incentive=Incentive(description="10% off your order", code="LOCAL10"),
            ),
        ],
        holdout_percent=0,
        reentry_cooldown_days=0,
    )
}


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(*, port: int, tick_seconds: float, quiet_hours: bool = True) -> int:
    # Ctrl-C, or a TERM from a process manager: both end the loop and stop the stack cleanly.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    # Powertools' notice that a refused request published no metric is noise here.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    stack = LocalStack.start(sender_domains=[SENDER_DOMAIN], api_port=port)
    keys = create_shop(
        stack.store(),
        shop_id="local",
        name="Local Shop",
        settings=ShopSettings(
            from_address=f"hello@{SENDER_DOMAIN}",
            journeys=LOCAL_JOURNEYS,
            # Three messages ten minutes apart: the shipped cap (1 per channel in 16 h) would
            # hold back the last one here, where it is days apart in the shipped journey.
            cap_messages=3,
            site_url="https://shop.example.com",
            **({} if quiet_hours else {"quiet_hours_start": None, "quiet_hours_end": None}),
        ),
        now=SystemClock().now(),
    )
    # Webhook secrets for the local shop, so platform deliveries can be signed and tried.
    webhook_secrets = {
        platform: install_webhook_secret(
            stack.aws.client("secretsmanager"), stack.aws.webhook_secret_arn, "local", platform
        ).secret
        for platform in PLATFORMS
    }
    assert stack.push_peer is not None
    # A stand-in browser: its subscription is at the local push service, which decrypts what
    # the sender pushes; it is printed here (real browsers' endpoints are refused locally).
    browser = stack.push_peer.new_subscriber()
    sys.stdout.write(_banner(stack, keys, browser, tick_seconds, quiet_hours, webhook_secrets))
    sys.stdout.flush()
    shown = 0
    seen: set[str] = set()
    try:
        while True:
            _report(stack, seen)
            received = stack.push_peer.received(browser)
            for payload in received[shown:]:
                stamp = time.strftime("%H:%M:%S")
                sys.stdout.write(f"{stamp}  push received: {payload.decode()}\n")
            shown = len(received)
            sys.stdout.flush()
            time.sleep(tick_seconds)
    except KeyboardInterrupt:
        sys.stdout.write("\nstopped\n")
    finally:
        # A terminal's Ctrl-C reaches this process more than once (the group's signal, and
        # `uv run` forwarding it): the rest must not interrupt the shutdown itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    return 0


def _banner(
    stack: LocalStack,
    keys: ShopKeys,
    browser: Subscriber,
    tick_seconds: float,
    quiet_hours: bool,
    webhook_secrets: dict[str, str],
) -> str:
    assert stack.push_peer is not None
    sub = browser.subscription
    subscription = json.dumps(
        {
            "anonymousId": "browser-1",
            "subscription": {
                "endpoint": sub.endpoint,
                "keys": {"p256dh": sub.p256dh, "auth": sub.auth},
            },
        }
    )
    api, key = stack.api.url, keys.write_key
    identify = json.dumps(
        {
            "userId": "u1",
            "anonymousId": "browser-1",
            "traits": {"email": "you@example.com", "email_consent": True},
        },
        separators=(",", ":"),
    )
    json_header = "-H 'content-type: application/json'"
    quiet = (
        "not during quiet hours, 21:00-08:00 UTC; --no-quiet-hours sends at any hour"
        if quiet_hours
        else "at any hour"
    )
    return f"""Comeback is running locally.
  API:            {api}   (Segment-compatible: /v1/track, /v1/identify, /v1/batch ...)
  embedded AWS:   {stack.aws.endpoint}   (moto; outbox at {stack.aws.endpoint}/moto-api/data.json)
  push service:   {stack.push_peer.origin}   (local: the only push endpoints accepted here)
  shop:           local   write key:  {key}
                          secret key: {keys.secret_key}   (server-side calls, trusted)
  cart journey: push after 1 minute, email after 5, last email with an offer after 10
                  ({quiet}); queues and sweeps run every {tick_seconds:g} s.
  settings:       curl -u {keys.secret_key}: {api}/v1/settings   (PATCH to change journeys)
  webhooks:       {api}/v1/webhooks/shopify?shop=local      secret: {webhook_secrets["shopify"]}
                  {api}/v1/webhooks/woocommerce?shop=local  secret: {webhook_secrets["woocommerce"]}
                  (sign the raw body: base64 HMAC-SHA256 with the secret; docs/webhooks.md)

Try:
  curl -u {key}: {api}/v1/identify {json_header} \\
    -d '{identify}'
  curl -u {key}: {api}/v1/track {json_header} \\
    -d '{{"userId":"u1","event":"Product Added","properties":{{"product_id":"p1","price":9.5}}}}'
Read, export or erase a person (secret key only; docs/privacy.md):
  curl -u {keys.secret_key}: '{api}/v1/privacy/export?userId=u1'
Subscribe the stand-in browser to push (what it receives is printed here, decrypted):
  curl -u {key}: {api}/v1/push/subscribe {json_header} \\
    -d '{subscription}'
Press Ctrl-C to stop.
"""


def _report(stack: LocalStack, seen: set[str]) -> None:
    """One round of what AWS would do on its own, with a line for whatever happened, and one
    per message decided (sent, or skipped and why)."""
    processed = stack.process_events()
    sweeps = stack.run_sweeps()
    sent = stack.send_messages()
    claimed = sum(result["claimed"] for result in sweeps.values())
    stamp = time.strftime("%H:%M:%S")
    if processed.succeeded or processed.failed_attempts or claimed or sent.succeeded:
        sys.stdout.write(
            f"{stamp}  events applied {processed.succeeded}"
            f" (failed attempts {processed.failed_attempts}), timers claimed {claimed},"
            f" jobs delivered {sent.succeeded}, dead letters {stack.dead_letters()}\n"
        )
    if sent.succeeded:
        for line in _decided(stack, seen):
            sys.stdout.write(f"{stamp}  {line}\n")
    sys.stdout.flush()


def _decided(stack: LocalStack, seen: set[str]) -> list[str]:
    """Messages decided since the last look: kind, journey step, and the outcome. A step held
    for quiet hours is not decided yet (it waits for the morning; --no-quiet-hours)."""
    lines = []
    for item in stack.store().scan_shop_items("local"):
        if item.get("kind") != "send" or item.get("status") in ("sending", "retrying"):
            continue
        key = f"{item['sk']}:{item.get('status')}"
        if key in seen:
            continue
        seen.add(key)
        step = f" step {int(item['step']) + 1}" if item.get("step") is not None else ""
        detail = str(item.get("detail") or "").split(":")[0]
        lines.append(f"message {item.get('message_kind')}{step}: {item.get('status')} {detail}")
    return lines
