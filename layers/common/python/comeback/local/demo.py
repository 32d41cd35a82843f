"""The main job, locally: replay CDNOW's real orders through the HTTP API on a simulated clock,
run the sweeps across its 18 months, send what falls due, and report what happened. Then the
cart journey on Retail Rocket's real visitor histories (comeback.local.retailrocket)."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from comeback.clock import SimulatedClock, iso
from comeback.domain.journeys import HOLDOUT
from comeback.local.datasets import CdnowOrder, examples_dir, read_cdnow, share_of
from comeback.local.replay import TrackingClient
from comeback.local.retailrocket import run_demo as replay_retailrocket
from comeback.local.stack import LocalStack
from comeback.models.shop import ShopSettings
from comeback.services.shops import create_shop

SHOP_ID = "cdnow"
SENDER_DOMAIN = "cdnow.example.com"  # synthetic: a reserved domain (RFC 2606)
EMAIL_CONSENT_PERCENT = 60
ORDER_HOUR = day_time(12, 0)
SWEEP_HOUR = day_time(20, 0)
DATASETS = {"sample": "CDNOW_sample.txt", "full": "CDNOW_master.txt"}


@dataclass(frozen=True)
class DemoOptions:
    dataset: str = "sample"
    out_dir: Path = Path("out")
    progress: bool = True
    limit_customers: int | None = None
    # Evening sweeps every this many simulated days (the last day always gets one).
    sweep_every_days: int = 1
    # Then the cart journey on the Retail Rocket sample (a stack of its own, under a minute).
    retailrocket: bool = True


def synthetic_email(customer_id: str) -> str:
    return f"cdnow-{customer_id}@example.com"


def events_by_day(orders: list[CdnowOrder], source: str) -> dict[date, list[dict[str, Any]]]:
    """Each row becomes an `Order Completed` at its real date; a customer's first order day
    also carries an `identify` with their synthetic address and consent."""
    days: dict[date, list[dict[str, Any]]] = defaultdict(list)
    seen: set[str] = set()
    for order in sorted(orders, key=lambda o: (o.day, o.row)):
        at = iso(datetime.combine(order.day, ORDER_HOUR, tzinfo=UTC))
        user_id = f"cdnow-{order.customer_id}"
        if order.customer_id not in seen:
            seen.add(order.customer_id)
            days[order.day].append(
                {
                    "type": "identify",
                    "messageId": f"cdnow-identify-{order.customer_id}",
                    "userId": user_id,
                    "timestamp": at,
                    "traits": {
                        "email": synthetic_email(order.customer_id),
                        "email_consent": share_of(order.customer_id, EMAIL_CONSENT_PERCENT),
                        "synthetic_contact": True,
                    },
                }
            )
        days[order.day].append(
            {
                "type": "track",
                "event": "Order Completed",
                "messageId": f"cdnow-{source}-order-{order.row}",
                "userId": user_id,
                "timestamp": at,
                "properties": {
                    "order_id": f"{source}-{order.row}",
                    "total": order.value,
                    "revenue": order.value,
                    "currency": "USD",
                    "products": [{"product_id": "cd", "quantity": order.cds}],
                },
            }
        )
    return days


def replay(
    stack: LocalStack,
    client: TrackingClient,
    days: dict[date, list[dict[str, Any]]],
    first: date,
    last: date,
    *,
    progress: TextIO | None = None,
    sweep_every_days: int = 1,
) -> None:
    """Day by day: the day's calls at noon, then the evening sweeps and sends (every
    `sweep_every_days` days: what falls due in between goes at the next sweep)."""
    assert stack.clock is not None
    total_days = (last - first).days + 1
    started = time.monotonic()
    for offset in range(total_days):
        day = first + timedelta(days=offset)
        messages = days.get(day, [])
        if messages:
            stack.clock.set(datetime.combine(day, ORDER_HOUR, tzinfo=UTC))
            client.send_batch(messages, sent_at=iso(stack.clock.now()))
            stack.process_events()
        if (offset + 1) % sweep_every_days == 0 or day == last:
            stack.clock.set(datetime.combine(day, SWEEP_HOUR, tzinfo=UTC))
            stack.run_sweeps()
            stack.send_messages()
        if progress is not None:
            _progress(progress, offset + 1, total_days, day, client, started)
    if progress is not None:
        progress.write("\n")


def _progress(
    out: TextIO, done: int, total: int, day: date, client: TrackingClient, started: float
) -> None:
    width = 30
    filled = int(width * done / total)
    elapsed = time.monotonic() - started
    out.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done * 100 // total:3d}% "
        f"{day.isoformat()}  events {client.accepted:,}  {elapsed:5.0f}s"
    )
    out.flush()


def summarise(stack: LocalStack, shop_id: str) -> dict[str, Any]:
    """Counts read back from the table, not from what the replay believes it sent."""
    profiles = orders = consented = 0
    revenue = Decimal(0)
    sends: Counter[str] = Counter()
    skips: Counter[str] = Counter()
    events = 0
    segments: Counter[str] = Counter()
    predicted = Decimal(0)
    for item in stack.store().scan_shop_items(shop_id):
        kind = item.get("kind")
        if kind == "profile":
            profiles += 1
            value = item.get("value") or {}
            segments[value.get("segment", "no order")] += 1
            predicted += value.get("predicted_value") or Decimal(0)
            orders += int(item["orders"]["count"])
            revenue += item["orders"]["revenue"]
            consented += bool(item.get("consent", {}).get("email", {}).get("granted"))
        elif kind == "event":
            events += 1
        elif kind == "send":
            if item["status"] == "skipped":
                skips[f"{item['message_kind']}:{item.get('detail')}"] += 1
            else:
                sends[f"{item['message_kind']}:{item['status']}"] += 1
    return {
        "profiles": profiles,
        "orders": orders,
        "revenue": str(revenue),
        "profiles_with_email_consent": consented,
        "events_stored": events,
        "reminders_sent": sends["cart_recovery:sent"],
        "winbacks_sent": sends["reactivation:sent"],
        "skipped_no_consent": sum(n for k, n in skips.items() if k.endswith(":no_consent")),
        "held_out": sum(n for k, n in skips.items() if k.endswith(f":{HOLDOUT}")),
        "sends_by_outcome": dict(sorted(sends.items())),
        "skips_by_reason": dict(sorted(skips.items())),
        # From the value fit run at the end (RFM, BG/NBD and Gamma-Gamma over these profiles).
        "segments": dict(segments.most_common()),
        "predicted_revenue_next_year": str(predicted.quantize(Decimal("0.01"))),
    }


def write_outbox(stack: LocalStack, folder: Path) -> int:
    """Every email SES accepted, as .eml files, read back from moto's SES store."""
    folder.mkdir(parents=True, exist_ok=True)
    moto_data = f"{stack.aws.endpoint}/moto-api/data.json"
    with urllib.request.urlopen(moto_data) as response:  # noqa: S310 - moto on 127.0.0.1
        data = json.loads(response.read())
    written = 0
    for message in {m["id"]: m for m in data.get("ses", {}).get("RawMessage", [])}.values():
        (folder / f"{message['id']}.eml").write_text(message["raw_data"], encoding="utf-8")
        written += 1
    return written


def run(options: DemoOptions, out: TextIO = sys.stdout) -> dict[str, Any]:
    path = examples_dir() / DATASETS[options.dataset]
    orders = read_cdnow(path)
    if options.limit_customers:
        keep = sorted({o.customer_id for o in orders}, key=int)[: options.limit_customers]
        orders = [o for o in orders if o.customer_id in set(keep)]
    days = events_by_day(orders, options.dataset)
    first, last = min(days), max(days)
    out.write(
        f"Comeback demo: replaying {len(orders):,} real CDNOW orders ({path.name}) "
        f"from {first} to {last} through the local API\n"
    )

    started = time.monotonic()
    clock = SimulatedClock(datetime.combine(first, day_time(0), tzinfo=UTC))
    stack = LocalStack.start(sender_domains=[SENDER_DOMAIN], clock=clock)
    try:
        out.write(f"embedded AWS (moto) at {stack.aws.endpoint}, API at {stack.api.url}\n")
        keys = create_shop(
            stack.store(),
            shop_id=SHOP_ID,
            name="CDNOW (demo)",
            settings=ShopSettings(
                from_address=f"hello@{SENDER_DOMAIN}", site_url="https://cdnow.example.com"
            ),
            now=clock.now(),
        )
        client = TrackingClient(stack.api.url, keys.write_key)
        replay(
            stack,
            client,
            days,
            first,
            last,
            progress=sys.stderr if options.progress else None,
            sweep_every_days=options.sweep_every_days,
        )
        stack.functions["valuation"].invoke({"shop_id": SHOP_ID})
        summary = summarise(stack, SHOP_ID)
        expected = raw_file_figures(orders)
        matches = all(Decimal(str(summary[key])) == Decimal(str(v)) for key, v in expected.items())
        outbox = options.out_dir / "outbox"
        emails = write_outbox(stack, outbox)
        report = {
            "dataset": path.name,
            "rows": len(orders),
            "days_replayed": (last - first).days + 1,
            "events_accepted": client.accepted,
            "events_rejected": client.rejected,
            "rejections": client.errors[:10],
            **summary,
            # Counted straight from the data file, independently of the stack.
            "raw_file": expected,
            "matches_raw_file": matches,
            "emails_in_outbox": emails,
            "outbox": str(outbox),
            "sweeps": stack.sweeps,
            "dead_letters": stack.dead_letters(),
            "synthetic_contacts": f"emails are cdnow-<id>@example.com; {EMAIL_CONSENT_PERCENT}%"
            " of customers (by a hash of their id) gave email consent",
            "seconds": round(time.monotonic() - started, 1),
        }
    finally:
        stack.stop()
    options.out_dir.mkdir(parents=True, exist_ok=True)
    report_path = options.out_dir / "demo-report.json"
    report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _print_summary(out, report, report_path)
    if options.retailrocket:
        report["retailrocket"] = replay_retailrocket(out)
        report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def raw_file_figures(orders: list[CdnowOrder]) -> dict[str, Any]:
    """What the profiles must add up to: customers, rows and revenue of the file itself."""
    return {
        "profiles": len({order.customer_id for order in orders}),
        "orders": len(orders),
        "revenue": str(sum((order.value for order in orders), start=Decimal(0))),
    }


def _print_summary(out: TextIO, report: dict[str, Any], report_path: Path) -> None:
    lines = [
        ("events accepted", f"{report['events_accepted']:,}"),
        ("events rejected", f"{report['events_rejected']:,}"),
        ("profiles", f"{report['profiles']:,}"),
        ("orders", f"{report['orders']:,}"),
        ("revenue", f"${Decimal(report['revenue']):,.2f}"),
        ("cart reminders sent", f"{report['reminders_sent']:,}"),
        ("win-backs sent", f"{report['winbacks_sent']:,}"),
        ("skipped, no consent", f"{report['skipped_no_consent']:,}"),
        ("held out", f"{report['held_out']:,}  (the journeys' holdout groups: they get nothing)"),
        (
            "customer segments",
            ", ".join(f"{name} {count:,}" for name, count in report["segments"].items()),
        ),
        ("predicted next year", f"${Decimal(report['predicted_revenue_next_year']):,.2f}"),
        ("emails in outbox", f"{report['emails_in_outbox']:,}  ({report['outbox']})"),
        ("dead letters", json.dumps(report["dead_letters"])),
        (
            "check",
            "profiles, orders and revenue match the data file"
            if report["matches_raw_file"]
            else f"MISMATCH with the data file: {json.dumps(report['raw_file'])}",
        ),
        ("time", f"{report['seconds']} s"),
    ]
    out.write("\n".join(f"  {label:<22}{value}" for label, value in lines) + "\n")
    out.write(f"report: {report_path}\n")
