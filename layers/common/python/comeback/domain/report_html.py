"""A shop's KPIs as one self-contained HTML page: inline CSS and SVG charts drawn here, no
scripts, no fonts or images from anywhere, every value escaped. Pure: figures in, text out."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from html import escape

from comeback.domain.kpis import (
    MIN_GROUP_ENTRIES,
    ChannelStats,
    Cohort,
    Funnel,
    Lift,
    PeriodRevenue,
    Ratio,
    ShopKpis,
)

CHART_WIDTH = 760
BAR_CHART_HEIGHT = 260
MAX_X_LABELS = 12
# Colours: revenue, recovered revenue, text, muted text, the heatmap's full shade (RGB).
REVENUE = "#c7d2fe"
RECOVERED = "#4f46e5"
INK = "#1f2937"
MUTED = "#6b7280"
HEAT_RGB = (79, 70, 229)
# Shown for a figure with nothing to compute it from (an en dash).
NOT_AVAILABLE = "\u2013"

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;
margin:0;background:#f8fafc}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px}
.sub{color:#6b7280;margin:0 0 20px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:12px 14px}
.card .label{font-size:13px;color:#6b7280}.card .value{font-size:21px;font-weight:600}
.card .note{font-size:12px;color:#6b7280}
.panel{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:16px;overflow-x:auto}
table{border-collapse:collapse;font-size:13px}
th,td{padding:5px 8px;text-align:right;white-space:nowrap}
th{color:#6b7280;font-weight:600}td.left,th.left{text-align:left}
.heat td{min-width:42px}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
dl{font-size:13px;color:#374151}dt{font-weight:600;margin-top:8px}dd{margin:2px 0 0 0}
.empty{color:#6b7280;font-style:italic}
td.note{text-align:left;white-space:normal;color:#6b7280;min-width:220px}
"""


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _number(value: int) -> str:
    return f"{value:,}"


def _money(amount: Decimal | None, currency: str) -> str:
    return NOT_AVAILABLE if amount is None else f"{currency} {amount:,.2f}"


def _percent(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value * 100:.1f}%"


def _ratio_note(ratio: Ratio) -> str:
    return f"{_number(ratio.numerator)} of {_number(ratio.denominator)}"


def _points(value: float | None) -> str:
    """A difference of two rates, in percentage points, with its sign."""
    return NOT_AVAILABLE if value is None else f"{value * 100:+.1f} pts"


def _interval(lift: Lift) -> str:
    low, high = lift.confidence_low, lift.confidence_high
    if not lift.available or low is None or high is None:
        return NOT_AVAILABLE
    return f"{low * 100:+.1f} to {high * 100:+.1f} pts"


def _lift_card(lift: Lift) -> str:
    if not lift.available:
        return _card("Lift over holdout (cart recovery)", "not available", lift.reason or "")
    return _card(
        "Lift over holdout (cart recovery)",
        _points(lift.lift),
        f"95% interval {_interval(lift)}",
    )


def _card(label: str, value: str, note: str = "") -> str:
    return (
        f'<div class="card"><div class="label">{_text(label)}</div>'
        f'<div class="value">{_text(value)}</div>'
        f'<div class="note">{_text(note)}</div></div>'
    )


def render_report(kpis: ShopKpis, *, shop_name: str, currency: str, generated_at: datetime) -> str:
    """The whole page."""
    period = f"{kpis.period.first.isoformat()} to {kpis.period.last.isoformat()}"
    cards = [
        _card("Revenue", _money(kpis.revenue, currency), f"{_number(kpis.orders)} orders"),
        _card("Orders", _number(kpis.orders)),
        _card("Average order value", _money(kpis.average_order_value, currency)),
        _card("Customers who ordered", _number(kpis.customers), f"{kpis.new_customers:,} new"),
        _card(
            "Repeat purchase rate",
            _percent(kpis.repeat_purchase_rate.value),
            _ratio_note(kpis.repeat_purchase_rate),
        ),
        _card("Active customers", _number(kpis.active_customers), "ordered in the last 365 days"),
        _card("Churn rate", _percent(kpis.churn_rate.value), _ratio_note(kpis.churn_rate)),
        _card(
            "Average historical customer value",
            _money(kpis.average_historical_value, currency),
            "lifetime revenue per customer",
        ),
        _card(
            "Cart abandonment rate",
            _percent(kpis.cart_abandonment_rate.value),
            _ratio_note(kpis.cart_abandonment_rate),
        ),
        _card("Recovery rate", _percent(kpis.recovery_rate.value), _ratio_note(kpis.recovery_rate)),
        _card("Recovered revenue", _money(kpis.recovered_revenue, currency)),
        _card(
            "Unsubscribe rate",
            _percent(kpis.unsubscribe_rate.value),
            f"{_ratio_note(kpis.unsubscribe_rate)} emails",
        ),
        _lift_card(kpis.lift),
    ]
    sections = [
        f"<h1>{_text(shop_name)}</h1>",
        f'<p class="sub">Key figures from {_text(period)} (UTC days, both included) · '
        f"generated {_text(generated_at.strftime('%Y-%m-%d %H:%M UTC'))}</p>",
        f'<div class="cards">{"".join(cards)}</div>',
        f"<h2>Revenue and recovered revenue by {_text(kpis.granularity)}</h2>",
        f'<div class="panel">{revenue_chart(kpis.over_time, currency)}</div>',
        "<h2>Cart recovery funnel</h2>",
        f'<div class="panel">{funnel_chart(kpis.funnel)}</div>',
        "<h2>Retention by monthly cohort</h2>",
        f'<div class="panel">{cohort_table(kpis.cohorts)}</div>',
        "<h2>Messages by channel</h2>",
        f'<div class="panel">{messages_table(kpis.messages)}</div>',
        "<h2>Orders credited to messages (last touch)</h2>",
        f'<div class="panel">{attributed_table(kpis, currency)}</div>',
        "<h2>Lift over holdout, by journey</h2>",
        f'<div class="panel">{lift_table(kpis.lift_by_journey, currency)}</div>',
        "<h2>How these are counted</h2>",
        _definitions(kpis),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(shop_name)}: key figures {_text(period)}</title>"
        f"<style>{STYLE}</style></head><body><main>{''.join(sections)}</main></body></html>\n"
    )


def revenue_chart(periods: tuple[PeriodRevenue, ...], currency: str) -> str:
    """Bars of revenue per period, with the part recovered by cart reminders inside them."""
    if not periods or not any(p.revenue or p.recovered_revenue for p in periods):
        return '<p class="empty">No orders in this range.</p>'
    left, right, top, bottom = 70, 10, 10, 40
    inner_w = CHART_WIDTH - left - right
    inner_h = BAR_CHART_HEIGHT - top - bottom
    peak = max(max(p.revenue, p.recovered_revenue) for p in periods)
    slot = inner_w / len(periods)
    bar = max(slot * 0.7, 1.0)
    every = max(1, -(-len(periods) // MAX_X_LABELS))
    parts = [
        f'<svg viewBox="0 0 {CHART_WIDTH} {BAR_CHART_HEIGHT}" width="100%" role="img" '
        f'aria-label="Revenue and recovered revenue by period">',
        f'<line x1="{left}" y1="{top + inner_h}" x2="{CHART_WIDTH - right}" '
        f'y2="{top + inner_h}" stroke="#d1d5db"/>',
    ]
    for fraction in (0.5, 1.0):
        y = top + inner_h * (1 - fraction)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{CHART_WIDTH - right}" y2="{y:.1f}" '
            f'stroke="#eef2f7"/><text x="{left - 6}" y="{y + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="{MUTED}">{_text(_short(peak * Decimal(fraction)))}</text>'
        )
    for index, period in enumerate(periods):
        x = left + index * slot + (slot - bar) / 2
        for amount, colour in ((period.revenue, REVENUE), (period.recovered_revenue, RECOVERED)):
            height = float(amount / peak) * inner_h if peak else 0.0
            parts.append(
                f'<rect x="{x:.1f}" y="{top + inner_h - height:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{_text(period.label)}: '
                f"{_text(_money(amount, currency))}</title></rect>"
            )
        if index % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + inner_h + 16}" font-size="11" '
                f'text-anchor="middle" fill="{MUTED}">{_text(period.label)}</text>'
            )
    parts.append("</svg>")
    legend = (
        f'<div class="legend"><span style="background:{REVENUE}"></span>revenue'
        f'<span style="background:{RECOVERED}"></span>recovered by cart reminders '
        f"({_text(currency)})</div>"
    )
    return "".join(parts) + legend


def _short(amount: Decimal) -> str:
    value = float(amount)
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:.0f}"


def funnel_chart(funnel: Funnel) -> str:
    """Carts started → abandoned → reminded → recovered, as shrinking bars."""
    if not funnel.carts:
        return '<p class="empty">No carts were started in this range.</p>'
    steps = (
        ("Carts started", funnel.carts),
        ("Abandoned", funnel.abandoned),
        ("Reminded", funnel.reminded),
        ("Recovered", funnel.recovered),
    )
    row, label_w = 44, 140
    width = CHART_WIDTH - label_w - 260  # room for "1,339 · 97.2% of carts started"
    parts = [
        f'<svg viewBox="0 0 {CHART_WIDTH} {row * len(steps) + 8}" width="100%" role="img" '
        'aria-label="Cart recovery funnel">'
    ]
    previous: tuple[str, int] | None = None
    for index, (label, count) in enumerate(steps):
        y = 4 + index * row
        length = max(width * count / funnel.carts, 2.0 if count else 0.0)
        share = ""
        if previous is not None:
            rate = count / previous[1] if previous[1] else None
            share = f" \u00b7 {_percent(rate)} of {previous[0].lower()}"
        shade = 0.35 + 0.65 * index / (len(steps) - 1)
        parts.append(
            f'<text x="0" y="{y + 24}" font-size="13" fill="{INK}">{_text(label)}</text>'
            f'<rect x="{label_w}" y="{y + 6}" width="{length:.1f}" height="28" rx="4" '
            f'fill="{RECOVERED}" fill-opacity="{shade:.2f}"><title>{_text(label)}: '
            f"{_text(_number(count))}</title></rect>"
            f'<text x="{label_w + length + 8:.1f}" y="{y + 24}" font-size="13" fill="{INK}">'
            f"{_text(_number(count) + share)}</text>"
        )
        previous = (label, count)
    parts.append("</svg>")
    return "".join(parts)


def cohort_table(cohorts: tuple[Cohort, ...]) -> str:
    """One row per cohort (month of first order), one shaded cell per later month."""
    if not cohorts:
        return '<p class="empty">No customer placed a first order in this range.</p>'
    months = max(len(c.active) for c in cohorts)
    head = "".join(f"<th>+{k}</th>" for k in range(months))
    rows = []
    for cohort in cohorts:
        cells = []
        for k in range(months):
            if k >= len(cohort.active):
                cells.append("<td></td>")
                continue
            rate = cohort.active[k] / cohort.customers
            # The square root spreads the usual 2-20% of later months over visible shades.
            shade = math.sqrt(rate)
            ink = "#fff" if shade > 0.6 else INK
            red, green, blue = HEAT_RGB
            cells.append(
                f'<td style="background:rgba({red},{green},{blue},{shade:.3f});color:{ink}" '
                f'title="{_text(f"{cohort.active[k]:,} of {cohort.customers:,}")}">'
                f"{_text(_percent(rate))}</td>"
            )
        rows.append(
            f'<tr><td class="left">{_text(cohort.month)}</td>'
            f"<td>{_text(_number(cohort.customers))}</td>{''.join(cells)}</tr>"
        )
    return (
        '<table class="heat"><thead><tr><th class="left">Cohort</th><th>Customers</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        '<p class="sub">Share of each cohort that ordered in the month shown after its first '
        "order (+0 is the first month itself).</p>"
    )


def messages_table(messages: dict[str, ChannelStats]) -> str:
    if not messages:
        return '<p class="empty">No messages went out in this range.</p>'
    rows = "".join(
        f'<tr><td class="left">{_text(channel)}</td><td>{_text(_number(s.sent))}</td>'
        f"<td>{_text(_number(s.delivered))}</td><td>{_text(_number(s.clicked))}</td>"
        f"<td>{_text(_percent(s.clicked / s.delivered if s.delivered else None))}</td></tr>"
        for channel, s in messages.items()
    )
    return (
        '<table><thead><tr><th class="left">Channel</th><th>Sent</th><th>Delivered</th>'
        f"<th>Clicked</th><th>Click rate</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def attributed_table(kpis: ShopKpis, currency: str) -> str:
    if not kpis.attributed:
        return '<p class="empty">No order in this range followed a message.</p>'
    rows = "".join(
        f'<tr><td class="left">{_text(_journey(kind))}</td><td>{_text(_number(a.orders))}</td>'
        f"<td>{_text(_money(a.revenue, currency))}</td></tr>"
        for kind, a in kpis.attributed.items()
    )
    days = f"{kpis.attribution_window_days:g}"
    return (
        '<table><thead><tr><th class="left">Message</th><th>Orders</th><th>Revenue</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
        f'<p class="sub">Each order counts once, for the last message delivered to the customer '
        f"within {_text(days)} days before it. Credit is not proof of effect: the lift over "
        "holdout below is.</p>"
    )


def _journey(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _group(rate: Ratio) -> str:
    return f"{_percent(rate.value)} ({_ratio_note(rate)})"


def lift_table(lifts: dict[str, Lift], currency: str) -> str:
    """Per journey: each group's conversion rate with its counts, then the lift with its
    interval, or why there is none (the counts are shown either way)."""
    if not lifts:
        return '<p class="empty">No one entered a journey in this range.</p>'
    rows = []
    for kind, lift in lifts.items():
        groups = (
            f'<tr><td class="left">{_text(_journey(kind))}</td>'
            f"<td>{_text(_group(lift.treatment_rate))}</td>"
            f"<td>{_text(_group(lift.holdout_rate))}</td>"
        )
        if not lift.available:
            rows.append(
                f'{groups}<td class="note" colspan="4">{_text(lift.reason or "")}</td></tr>'
            )
            continue
        relative = lift.relative_lift
        cells = (
            _points(lift.lift),
            _interval(lift),
            NOT_AVAILABLE if relative is None else f"{relative * 100:+.0f}%",
            _money(lift.incremental_revenue, currency),
        )
        rows.append(groups + "".join(f"<td>{_text(cell)}</td>" for cell in cells) + "</tr>")
    return (
        '<table><thead><tr><th class="left">Journey</th><th>Treated: converted</th>'
        "<th>Held out: converted</th><th>Lift</th><th>95% interval</th><th>Relative</th>"
        f"<th>Added revenue</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        '<p class="sub">Conversion rate of each group\'s entries in the range, with its counts. '
        "Lift: treated minus held-out rate, in percentage points.</p>"
    )


def _definitions(kpis: ShopKpis) -> str:
    window = f"{kpis.attribution_window_days:g} days"
    items = (
        ("Orders and revenue", "Orders placed in the range, each order id once."),
        (
            "Repeat purchase rate",
            "Customers with two or more orders in the range, of those with at least one.",
        ),
        (
            "Churn rate",
            "Customers who ordered in the previous period of the same length but not in this "
            "one, of those who ordered in the previous period.",
        ),
        (
            "Average historical customer value",
            "Revenue of every order up to the range's end, per customer with a first order by "
            "then.",
        ),
        (
            "Cart abandonment",
            "A cart starts with the first product added after a customer's last order; it is "
            "abandoned when no order followed within the shop's cart reminder delay.",
        ),
        (
            "Recovery",
            f"An abandoned cart whose reminder went out and whose order came within {window} "
            "of it, the reminder being the last message before the order.",
        ),
        (
            "Lift over holdout",
            "A share of the people who enter a journey is held out and gets nothing. An entry "
            "converts when its customer orders within "
            f"{window} after it. Lift is the treated entries' conversion rate minus the held-out "
            "ones', in percentage points, with a 95% interval (Newcombe's hybrid score method); "
            "when the interval includes 0 the messages' effect is not yet distinguishable from "
            f"none. Shown once each group has {MIN_GROUP_ENTRIES} entries in the range. Added "
            "revenue: the extra conversions times what a treated conversion was worth.",
        ),
    )
    body = "".join(f"<dt>{_text(term)}</dt><dd>{_text(text)}</dd>" for term, text in items)
    return f"<dl>{body}</dl>"
