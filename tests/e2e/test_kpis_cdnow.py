"""Replaying CDNOW through the real API, the KPI API's and `comeback report`'s figures agree
with an independent computation from the raw file: order count, revenue, repeat purchase
rate and monthly cohort retention, exactly, over the whole span and over a part of it. And a
cart's way from abandonment through a reminder, a click and an order to an unsubscribe shows
in the figures."""

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from comeback.adapters.deliveries import record_click
from comeback.cli import main as comeback
from comeback.clock import iso
from comeback.local.datasets import read_cdnow
from comeback.local.demo import ORDER_HOUR, events_by_day
from comeback.local.replay import TrackingClient

from tests.conftest import START, make_shop
from tests.support import sent_emails, shop_items

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "CDNOW_sample.txt"
# Every 12th customer by id: 197 customers, from each of the three monthly cohorts (CDNOW's
# ids follow the first purchase, so the first 200 ids would nearly all be January's).
EVERY = 12
WHOLE = (date(1997, 1, 1), date(1998, 6, 30))
PART = (date(1997, 3, 15), date(1997, 10, 31))


def raw_rows():
    """The sample parsed here with nothing from the product: id, index, YYYYMMDD, CDs, dollars.
    Each row is one order; every EVERY-th customer by id."""
    rows = defaultdict(list)
    for line in SAMPLE.read_text().splitlines():
        customer, _index, day, _cds, value = line.split()
        rows[int(customer)].append((date(int(day[:4]), int(day[4:6]), int(day[6:])), value))
    return {c: rows[c] for c in sorted(rows)[::EVERY]}


def expected_figures(rows, first, last):
    in_range = {c: [(d, v) for d, v in r if first <= d <= last] for c, r in rows.items()}
    buyers = {c: r for c, r in in_range.items() if r}
    month = lambda d: d.year * 12 + d.month - 1  # noqa: E731
    first_order = {c: min(d for d, _ in r) for c, r in rows.items()}
    cohorts = defaultdict(list)
    for customer, day in first_order.items():
        if first <= day <= last:
            cohorts[month(day)].append(customer)
    retention = []
    for start in sorted(cohorts):
        members = cohorts[start]
        active = [
            sum(any(month(d) == start + k and d <= last for d, _ in rows[c]) for c in members)
            for k in range(month(last) - start + 1)
        ]
        retention.append(
            {
                "cohort": f"{start // 12}-{start % 12 + 1:02d}",
                "customers": len(members),
                "active": active,
            }
        )
    return {
        "orders": sum(len(r) for r in buyers.values()),
        "revenue": str(sum((Decimal(v) for r in buyers.values() for _, v in r), Decimal(0))),
        "customers": len(buyers),
        "repeat_purchase_rate": (sum(len(r) >= 2 for r in buyers.values()), len(buyers)),
        "cohort_retention": retention,
    }


def replay_orders(stack, client, days):
    """The demo's replay (each day's calls at noon, through the API, then processed) without
    its evening sweeps: CDNOW has no carts, and sweeping 546 days' due partitions on moto's
    server would take this test past a minute for win-backs it does not look at."""
    for day in sorted(days):
        stack.clock.set(datetime.combine(day, ORDER_HOUR, tzinfo=UTC))
        client.send_batch(days[day], sent_at=iso(stack.clock.now()))
        stack.process_events()


def get_kpis(shop, key, **query):
    request = urllib.request.Request(
        f"{shop.api_url}/v1/kpis?{urllib.parse.urlencode(query)}",
        headers={"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def figures_of(body):
    return {
        "orders": body["orders"],
        "revenue": body["revenue"],
        "customers": body["customers"],
        "repeat_purchase_rate": (
            body["repeat_purchase_rate"]["numerator"],
            body["repeat_purchase_rate"]["denominator"],
        ),
        "cohort_retention": [
            {k: row[k] for k in ("cohort", "customers", "active")}
            for row in body["cohort_retention"]
        ],
    }


@pytest.mark.slow
def test_replayed_cdnow_kpis_match_the_raw_file(stack, tmp_path):
    # Given 197 customers of the CDNOW sample replayed through the API, day by day
    rows = raw_rows()
    keep = {str(c) for c in rows}
    orders = [o for o in read_cdnow(SAMPLE) if o.customer_id in keep]
    days = events_by_day(orders, "sample")
    # The shop is made "today": its sweeps start there, so no later test's sweep reads the
    # 27 years of empty due days since 1997 (this replay sends nothing and never sweeps).
    shop = make_shop(stack, START)
    client = TrackingClient(stack.api.url, shop.keys.write_key)
    replay_orders(stack, client, days)
    assert client.rejected == 0

    # When the KPI API is asked, with the secret key, for the whole span and for a part
    for first, last in (WHOLE, PART):
        status, body = get_kpis(shop, shop.keys.secret_key, **{"from": first, "to": last})

        # Then its figures are the raw file's, exactly
        assert status == 200, body
        expected = expected_figures(rows, first, last)
        assert figures_of(body) == expected
        assert expected["repeat_purchase_rate"][0] > 10 and expected["cohort_retention"]

    # And the three monthly cohorts are there; CDNOW has no carts and nothing was sent
    status, whole = get_kpis(shop, shop.keys.secret_key, **{"from": WHOLE[0], "to": WHOLE[1]})
    assert len(whole["cohort_retention"]) == 3
    assert whole["carts"]["started"] == 0 and whole["recovered_revenue"] == "0"
    assert whole["messages"] == {} and whole["unsubscribe_rate"]["value"] is None
    assert whole["lift_over_holdout"]["available"] is False

    # And `comeback report` writes the same figures, as JSON and as a self-contained page
    out, data = tmp_path / "report.html", tmp_path / "report.json"
    arguments = ["report", "--shop", shop.shop_id, "--table", stack.aws.table_name]
    arguments += ["--from", str(WHOLE[0]), "--to", str(WHOLE[1]), "--out", str(out)]
    assert comeback([*arguments, "--json", str(data)]) == 0
    written = json.loads(data.read_text())
    assert {k: v for k, v in written.items() if k != "as_of"} == {
        k: v for k, v in whole.items() if k != "as_of"
    }
    page = out.read_text()
    assert f"USD {Decimal(whole['revenue']):,.2f}" in page and f">{whole['orders']:,}<" in page
    assert "https://" not in page and "http://" not in page
    for row in whole["cohort_retention"]:
        assert f">{row['cohort']}<" in page


def test_only_the_secret_key_reads_kpis_and_bad_ranges_are_refused(stack):
    shop = make_shop(stack)

    assert get_kpis(shop, shop.keys.write_key)[0] == 401
    assert get_kpis(shop, "not-a-key")[0] == 401
    status, body = get_kpis(
        shop, shop.keys.secret_key, **{"from": "2024-02-01", "to": "2024-01-01"}
    )
    assert status == 400 and body["error"] == "invalid_request"
    assert get_kpis(shop, shop.keys.secret_key, **{"from": "01/02/2024"})[0] == 400

    # A new shop has nothing yet: zeros over the default range (the last 30 days)
    status, body = get_kpis(shop, shop.keys.secret_key)
    assert status == 200
    assert (body["orders"], body["revenue"], body["repeat_purchase_rate"]["value"]) == (
        0,
        "0",
        None,
    )
    assert body["to"] == stack.clock.now().date().isoformat()


def test_an_abandoned_cart_reminded_clicked_and_bought_is_recovered(stack):
    # Given Ann, who leaves her cart, and Bob, who buys his within minutes
    shop = make_shop(stack, START)
    for user in ("ann", "bob"):
        shop.post(
            "/v1/identify",
            {
                "userId": user,
                "traits": {"email": f"{user}-{shop.shop_id}@example.com", "email_consent": True},
            },
        )
        shop.post(
            "/v1/track",
            {
                "userId": user,
                "event": "Product Added",
                "properties": {"product_id": "mug", "name": "Mug", "price": 12.5, "quantity": 2},
            },
        )
    shop.post(
        "/v1/track",
        {"userId": "bob", "event": "Order Completed", "properties": {"order_id": "b1", "total": 9}},
    )
    # When Ann's reminder goes out after the hour, she clicks it and buys the next day
    stack.tick(START + timedelta(hours=1, minutes=5))
    [reminder] = sent_emails(stack, f"ann-{shop.shop_id}@example.com")
    # NOTE: a cart reminder email's cart link is not click-tracked (push links are), so the
    # click is counted the way the click handler counts it.
    [sent] = [r for r in shop_items(stack, shop.shop_id, "send") if r["status"] == "sent"]
    job_key = sent["sk"].removeprefix("SEND#")
    assert record_click(stack.store(), shop.shop_id, sent["profile_id"], job_key, stack.clock.now())
    stack.clock.set(START + timedelta(days=1))
    order = {"order_id": "a1", "total": "25.00"}
    shop.post("/v1/track", {"userId": "ann", "event": "Order Completed", "properties": order})
    shop.post("/v1/track", {"userId": "ann", "event": "Order Completed", "properties": order})
    stack.tick(START + timedelta(days=1, minutes=1))
    # And then unsubscribes through the email's one-click link
    link = reminder["List-Unsubscribe"].strip("<>")
    status, _ = shop.post(
        link.removeprefix(stack.api.url),
        None,
        raw=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200

    # Then the day's figures show one abandoned cart, reminded and recovered for 25.00
    day = START.date().isoformat()
    status, body = get_kpis(shop, shop.keys.secret_key, **{"from": day, "to": day})
    assert status == 200, body
    assert body["carts"] == {"started": 2, "abandoned": 1, "reminded": 1, "recovered": 1}
    assert body["cart_abandonment_rate"]["value"] == 0.5
    assert body["recovery_rate"]["value"] == 1.0
    assert (body["orders"], body["revenue"]) == (1, "9")  # Ann's order came the next day
    assert body["messages"] == {"email": {"sent": 1, "delivered": 1, "clicked": 1}}
    # Over both days: Ann's order once (sent twice), the recovered revenue and the unsubscribe
    later = (START + timedelta(days=1)).date().isoformat()
    status, body = get_kpis(shop, shop.keys.secret_key, **{"from": day, "to": later})
    assert (body["orders"], body["revenue"], body["recovered_revenue"]) == (2, "34.00", "25.00")
    assert body["unsubscribes"] == 1 and body["unsubscribe_rate"]["value"] == 1.0
    assert body["repeat_purchase_rate"] == {"numerator": 0, "denominator": 2, "value": 0.0}
