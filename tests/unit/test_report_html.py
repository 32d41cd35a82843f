"""The HTML report: one self-contained file (nothing fetched from anywhere), every value
escaped, the three charts and the figures present."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

from comeback.domain.kpis import (
    CartActivity,
    DateRange,
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


def test_the_report_is_one_self_contained_file():
    # Given a shop's figures
    page = render_report(sample_kpis(), shop_name="Shop", currency="USD", generated_at=GENERATED)

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
    assert "Recovered revenue" in page and kpis.recovered_revenue > 0
    for cohort in kpis.cohorts:
        assert f">{cohort.month}<" in page


def test_every_value_is_escaped():
    # Given a shop name, currency and channel that carry markup
    kpis = sample_kpis()
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
    assert "<svg" not in page
