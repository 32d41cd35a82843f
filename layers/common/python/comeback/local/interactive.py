"""`comeback local`: the stack kept running on the real clock, for a person to post events at."""

from __future__ import annotations

import sys
import time

from comeback.clock import SystemClock
from comeback.local.stack import LocalStack
from comeback.models.shop import ShopSettings
from comeback.services.shops import create_shop

SENDER_DOMAIN = "shop.example.com"  # synthetic: a reserved domain (RFC 2606)


def serve(*, port: int, tick_seconds: float) -> int:
    stack = LocalStack.start(sender_domains=[SENDER_DOMAIN], api_port=port)
    keys = create_shop(
        stack.store(),
        shop_id="local",
        name="Local Shop",
        settings=ShopSettings(
            from_address=f"hello@{SENDER_DOMAIN}",
            cart_reminder_delay_minutes=5,
            site_url="https://shop.example.com",
        ),
        now=SystemClock().now(),
    )
    sys.stdout.write(f"""Comeback is running locally.
  API:            {stack.api.url}   (Segment-compatible: /v1/track, /v1/identify, /v1/batch ...)
  embedded AWS:   {stack.aws.endpoint}   (moto; outbox at {stack.aws.endpoint}/moto-api/data.json)
  shop:           local    write key: {keys.write_key}
  cart reminders after 5 minutes; queues and sweeps run every {tick_seconds:g} s.

Try:
  curl -u {keys.write_key}: {stack.api.url}/v1/identify -H 'content-type: application/json' \\
    -d '{{"userId":"u1","traits":{{"email":"you@example.com","email_consent":true}}}}'
  curl -u {keys.write_key}: {stack.api.url}/v1/track -H 'content-type: application/json' \\
    -d '{{"userId":"u1","event":"Product Added","properties":{{"product_id":"p1","price":9.5}}}}'
Press Ctrl-C to stop.
""")
    sys.stdout.flush()
    try:
        while True:
            _report(stack)
            time.sleep(tick_seconds)
    except KeyboardInterrupt:
        sys.stdout.write("\nstopped\n")
    finally:
        stack.stop()
    return 0


def _report(stack: LocalStack) -> None:
    """One round of what AWS would do on its own, with a line for whatever happened."""
    processed = stack.process_events()
    sweeps = stack.run_sweeps()
    sent = stack.send_messages()
    claimed = sum(result["claimed"] for result in sweeps.values())
    if processed.succeeded or processed.failed_attempts or claimed or sent.succeeded:
        sys.stdout.write(
            f"{time.strftime('%H:%M:%S')}  events applied {processed.succeeded}"
            f" (failed attempts {processed.failed_attempts}), timers claimed {claimed},"
            f" jobs delivered {sent.succeeded}, dead letters {stack.dead_letters()}\n"
        )
        sys.stdout.flush()
