"""The HTML report: one self-contained file (nothing fetched from anywhere), every value
escaped, the three charts and the figures present."""

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

from comeback.domain.kpis import (
    NO_ENTRIES,
    CartActivity,
    DateRange,
    Lift,
    Order,
    Send,
    ShopRecords,
    Unsubscribe,
    compute_kpis,
)
from comeback.domain.report_html import render_report

GENERATED = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)
PERIOD = DateRange(date(2024, 1, 1), date(2024, 6, 30))
HOSTILE = '<script>alert("x")</script>'


def sample_kpis(customer_prefix="c"):
    start = datetime(2024, 1, 3, 12, tzinfo=UTC)
    orders, carts, sends = [], [], []
    for n in range(40):
        customer = f"{customer_prefix}{n % 15}"
        moment = start + timedelta(days=4 * n)
        orders.append(Order(customer, moment, Decimal("19.99") + n, f"o{n}"))
        if n % 3 == 0:
            carts.append(CartActivity(customer, moment - timedelta(days=2)))
            sends.append(
                Send(customer, "cart_recovery", "email", "sent", moment - timedelta(days=1), 1)
            )
    records = ShopRecords(
        orders=orders,
        cart_activity=carts,
        sends=sends,
        unsubscribes=[Unsubscribe("c1", start)],
    )
    return compute_kpis(records, PERIOD, as_of=GENERATED)


class Collector(HTMLParser):
    """Every tag and attribute of the page, to look for anything loaded from elsewhere."""

    def __init__(self):
        super().__init__()
        self.tags = []
        self.attributes = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend(attrs)


def parsed(page):
    collector = Collector()
    collector.feed(page)
    return collector


MEASURED = Lift(
    available=True,
    lift=0.1,
    confidence_low=0.0123,
    confidence_high=0.2049,
    treatment_entries=1200,
    treatment_conversions=240,
    holdout_entries=130,
    holdout_conversions=13,
    relative_lift=1.0,
    incremental_revenue=Decimal("5432.10"),
)
TOO_FEW = Lift(
    available=False,
    reason="too few held-out entries to compare: 4 of 30 needed",
    treatment_entries=41,
    treatment_conversions=5,
    holdout_entries=4,
    holdout_conversions=0,
)


def with_lifts(kpis, lifts):
    return replace(
        kpis,
        lift=lifts.get("cart_recovery", Lift(available=False, reason=NO_ENTRIES)),
        lift_by_journey=lifts,
    )


def test_the_report_is_one_self_contained_file():
    # Given a shop's figures, with a measured lift
    kpis = with_lifts(sample_kpis(), {"cart_recovery": MEASURED, "reactivation": TOO_FEW})
    page = render_report(kpis, shop_name="Shop", currency="USD", generated_at=GENERATED)

    # Then nothing in it points outside the file: no URL, no script, no external stylesheet
    found = parsed(page)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"//[A-Za-z0-9]", page)  # nor a scheme-relative address
    assert "script" not in found.tags and "link" not in found.tags and "img" not in found.tags
    assert "iframe" not in found.tags and "object" not in found.tags
    for name, value in found.attributes:
        assert name not in ("src", "href", "srcset", "xlink:href"), (name, value)
    assert "@import" not in page and "url(" not in page
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page


def test_the_three_charts_and_the_figures_are_there():
    kpis = sample_kpis()
    page = render_report(kpis, shop_name="Shop", currency="EUR", generated_at=GENERATED)
    found = parsed(page)

    # Then: revenue over time (bars), the funnel, the cohort heatmap, the cards
    assert found.tags.count("svg") == 2
    assert 'aria-label="Revenue and recovered revenue by period"' in page
    assert 'aria-label="Cart recovery funnel"' in page
    assert page.count("<rect") >= 2 * len(kpis.over_time) + 4
    assert '<table class="heat">' in page and "rgba(79,70,229," in page
    assert f"EUR {kpis.revenue:,.2f}" in page
    assert f">{kpis.orders:,}<" in page
    assert "Lift over holdout" in page and "not available" in page
    assert "No one entered a journey in this range." in page
    assert "Recovered revenue" in page and kpis.recovered_revenue > 0
    for cohort in kpis.cohorts:
        assert f">{cohort.month}<" in page


def test_the_lift_section_shows_both_groups_and_the_interval_or_why_not():
    kpis = with_lifts(sample_kpis(), {"cart_recovery": MEASURED, "reactivation": TOO_FEW})

    page = render_report(kpis, shop_name="Shop", currency="EUR", generated_at=GENERATED)

    # Then the headline card has the lift and its interval
    assert "Lift over holdout (cart recovery)" in page
    assert "+10.0 pts" in page and "95% interval +1.2 to +20.5 pts" in page
    # And the table has each journey's groups: conversion rates with their counts
    assert ">Cart recovery<" in page and ">Reactivation<" in page
    assert ">20.0% (240 of 1,200)<" in page and ">10.0% (13 of 130)<" in page
    assert ">+1.2 to +20.5 pts<" in page and ">+100%<" in page and ">EUR 5,432.10<" in page
    # And the journey without a lift still has its counts and says why
    assert ">12.2% (5 of 41)<" in page and ">0.0% (0 of 4)<" in page
    assert ">too few held-out entries to compare: 4 of 30 needed<" in page

    # And a report whose headline journey is not measured says so on the card
    page = render_report(
        with_lifts(sample_kpis(), {"reactivation": MEASURED}),
        shop_name="Shop",
        currency="EUR",
        generated_at=GENERATED,
    )
    assert "not available" in page and NO_ENTRIES in page


def test_every_value_is_escaped():
    # Given a shop name, currency, channel and journey that carry markup
    kpis = with_lifts(sample_kpis(), {HOSTILE: TOO_FEW})
    kpis.messages[HOSTILE] = kpis.messages.pop("email")

    page = render_report(kpis, shop_name=HOSTILE, currency='"><b>', generated_at=GENERATED)

    # Then none of it is markup
    assert HOSTILE not in page and '"><b>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "script" not in parsed(page).tags and "b" not in parsed(page).tags


def test_an_empty_range_says_so_instead_of_drawing_empty_charts():
    kpis = compute_kpis(ShopRecords(), PERIOD, as_of=GENERATED)

    page = render_report(kpis, shop_name="Shop", currency="USD", generated_at=GENERATED)

    assert "No orders in this range." in page
    assert "No carts were started in this range." in page
    assert "No customer placed a first order in this range." in page
    assert "No messages went out in this range." in page
    assert "No one entered a journey in this range." in page
    assert "<svg" not in page
