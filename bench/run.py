"""Figures for what Comeback costs: DynamoDB requests per event, reads per sweep, sends per
second per channel, cold imports.

Run with `uv run python bench/run.py` (or `make bench`). Everything runs on this machine:
moto's server on 127.0.0.1 stands in for AWS, with the real handlers on a simulated clock.
It prints figures, not verdicts: nothing here asserts a time.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

import imports
import per_event
import per_send
import per_sweep
from comeback import wiring
from comeback.clock import SimulatedClock
from comeback.local.stack import LocalStack
from comeback.models.shop import ShopSettings
from comeback.services.shops import create_shop
from counting import CallLog
from report import table

SENDER_DOMAIN = "shop.example.com"
START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday; the sweep table uses the next day
SWEEP_DAY = datetime(2024, 3, 5, tzinfo=UTC)
DUE_COUNTS = [0, 10, 100, 500]
SEND_DAY = datetime(2024, 3, 12, 9, 0, tzinfo=UTC)
SEND_CUSTOMERS = 60


def main() -> None:
    began = time.perf_counter()
    clock = SimulatedClock(START)
    stack = LocalStack.start(sender_domains=[SENDER_DOMAIN], clock=clock)
    try:
        # The clients every handler of this process shares; counting hooks into them.
        dynamodb = CallLog(wiring.client("dynamodb"))
        sqs = CallLog(wiring.client("sqs"))
        shop = create_shop(
            stack.store(),
            shop_id="bench-events",
            name="Bench Shop",
            settings=ShopSettings(
                from_address=f"hello@{SENDER_DOMAIN}", site_url=f"https://{SENDER_DOMAIN}"
            ),
            now=START,
        )
        costs = per_event.measure(stack, shop, dynamodb, sqs)
        print(
            table(
                "1. DynamoDB requests made by the processor to apply ONE event, by event type "
                "(intake columns: requests of the HTTP call that accepted it)",
                per_event.HEADERS,
                per_event.rows(costs, stack.aws.table_name, stack.aws.timers_table_name),
            )
        )
        print()
        sweeps = per_sweep.measure(stack, clock, SWEEP_DAY, DUE_COUNTS, dynamodb, sqs)
        print(
            table(
                "2. Requests of one cart_recovery sweep against the number of due timers "
                f"(background: {2 * per_sweep.BACKGROUND_PROFILES:,} timers not due; "
                "repeat: the same sweep again at once)",
                per_sweep.HEADERS,
                per_sweep.rows(sweeps),
            )
        )
        print()
        sends = per_send.measure(stack, SEND_DAY, SEND_CUSTOMERS, dynamodb)
        print(
            table(
                f"3. The sender draining {SEND_CUSTOMERS} due reminders per channel "
                "(3 instances; email to moto's SES, SMS to moto's SNS, push to the loopback "
                "push service, which decrypts and verifies each message on the same CPUs)",
                per_send.HEADERS,
                per_send.rows(sends),
            )
        )
        print()
        retried = dynamodb.retries + sqs.retries
    finally:
        stack.stop()
    load_before = os.getloadavg()[0]
    import_times = imports.measure()
    print(
        table(
            f"4. Cold import time of each handler, fresh interpreter, warm .pyc "
            f"({imports.REPEATS} runs each; Python {sys.version.split()[0]}; "
            f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)",
            imports.HEADERS,
            imports.rows(import_times),
        )
    )
    print()
    print(
        "Figures from moto's server on 127.0.0.1, not AWS: request counts are what DynamoDB "
        "would bill (~RRU/~WRU estimated from item sizes, base table only); times are this "
        f"machine's. Requests retried by botocore: {retried}. "
        f"Run took {time.perf_counter() - began:.0f} s."
    )


if __name__ == "__main__":
    main()
