"""A shop's key figures over a date range, from plain records (no AWS here).

Every figure is defined once, here, and in docs/kpis.md:

- orders, revenue, average order value: orders placed in the range, counted once per order id.
- customers: distinct customers with an order in the range; new customers: those whose first
  order ever falls in the range.
- repeat purchase rate: customers with two or more orders in the range / customers with at
  least one order in the range.
- active customers: customers with an order in the `active_window` (365 days) up to the
  range's end.
- churn rate: customers who ordered in the previous period of the same length but not in
  this one / customers who ordered in the previous period.
- average historical customer value: revenue of all orders up to the range's end / customers
  with a first order up to then.
- monthly cohort retention: a cohort is the calendar month of a customer's first order; for
  the cohorts that start in the range, the share of each cohort that ordered in each later
  calendar month, up to the range's end (order history up to the range's end).
- carts: a cart starts with a customer's first cart activity (product added, cart viewed
  with products, checkout started) after their last order and ends with their next order. It
  is abandoned when no order followed within `abandon_after` of its last activity (the shop's
  cart reminder delay: when Comeback regards it as abandoned); carts whose delay has not
  passed yet are neither. Cart abandonment rate: abandoned carts / carts, for carts started in
  the range.
- recovery: an abandoned cart is recovered when a cart reminder went out for it (accepted by
  the provider) and its order came within `attribution_window` (5 days) of the reminder, the
  reminder being the last message the customer got before ordering (last touch). Recovery
  rate: recovered / abandoned carts started in the range. Recovered revenue: the value of the
  recovering orders placed in the range.
- messages per channel, by when the send was decided in the range: sent (handed to the
  channel's provider: accepted, failed or of unknown outcome), delivered (accepted by the
  provider; there are no delivery receipts, so bounces are not subtracted), clicked (with at
  least one tracked click).
- unsubscribe rate: unsubscribes through an email's link in the range / emails delivered in
  the range.
- lift over holdout: not available, with the reason (there is no holdout group yet).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

CART_RECOVERY = "cart_recovery"
EMAIL = "email"
DEFAULT_ATTRIBUTION_WINDOW = timedelta(days=5)
DEFAULT_ABANDON_AFTER = timedelta(minutes=60)
DEFAULT_ACTIVE_WINDOW = timedelta(days=365)
# Charts show weeks for ranges up to this long, months beyond.
WEEKLY_UP_TO_DAYS = 92
CENT = Decimal("0.01")
# Send outcomes: accepted by the provider, and every outcome of a send that was attempted.
DELIVERED_STATUSES = frozenset({"sent"})
ATTEMPTED_STATUSES = frozenset({"sent", "failed", "unknown"})
NO_HOLDOUT = (
    "no holdout group: every eligible customer is messaged, so there is no comparable group "
    "left unmessaged to measure against"
)


# -- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    customer_id: str
    at: datetime
    value: Decimal
    order_id: str


@dataclass(frozen=True)
class CartActivity:
    customer_id: str
    at: datetime


@dataclass(frozen=True)
class Send:
    customer_id: str
    kind: str  # message kind: cart_recovery, reactivation, ...
    channel: str | None
    status: str  # sent, failed, unknown, skipped, sending, retrying
    at: datetime
    clicks: int = 0


@dataclass(frozen=True)
class Unsubscribe:
    customer_id: str
    at: datetime


@dataclass(frozen=True)
class ShopRecords:
    orders: list[Order] = field(default_factory=list)
    cart_activity: list[CartActivity] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    unsubscribes: list[Unsubscribe] = field(default_factory=list)
    # Each customer's first order as their profile counts it (it outlives the raw events).
    first_orders: dict[str, datetime] = field(default_factory=dict)


# -- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """Whole UTC days, both ends included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the range ends before it starts")

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The first moment after the range."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> DateRange:
        """The period of the same length just before this one."""
        return DateRange(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def holds(self, moment: datetime) -> bool:
        return self.since <= moment < self.until


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class ChannelStats:
    sent: int = 0
    delivered: int = 0
    clicked: int = 0


@dataclass(frozen=True)
class Cohort:
    month: str  # YYYY-MM of the customers' first order
    customers: int
    # Customers of the cohort who ordered in month 0, 1, 2, ... after it (month 0 is all).
    active: tuple[int, ...]

    @property
    def retention(self) -> tuple[float, ...]:
        return tuple(n / self.customers for n in self.active)


@dataclass(frozen=True)
class Funnel:
    carts: int
    abandoned: int
    reminded: int
    recovered: int


@dataclass(frozen=True)
class PeriodRevenue:
    label: str  # "1997-03" (a month) or "2024-01-08" (the Monday of a week)
    first: date
    revenue: Decimal
    recovered_revenue: Decimal


@dataclass(frozen=True)
class Lift:
    available: bool
    reason: str | None = None
    lift: float | None = None
    confidence_low: float | None = None
    confidence_high: float | None = None


@dataclass(frozen=True)
class ShopKpis:
    period: DateRange
    as_of: datetime
    orders: int
    revenue: Decimal
    average_order_value: Decimal | None
    customers: int
    new_customers: int
    repeat_purchase_rate: Ratio
    active_customers: int
    churn_rate: Ratio
    average_historical_value: Decimal | None
    cohorts: tuple[Cohort, ...]
    funnel: Funnel
    cart_abandonment_rate: Ratio
    recovery_rate: Ratio
    recovered_revenue: Decimal
    over_time: tuple[PeriodRevenue, ...]
    messages: dict[str, ChannelStats]
    unsubscribes: int
    unsubscribe_rate: Ratio
    lift: Lift
    attribution_window_days: float
    granularity: str  # "week" or "month": the buckets of `over_time`


# -- computing ---------------------------------------------------------------------------------


def unique_orders(orders: Iterable[Order]) -> list[Order]:
    """Each order id once (its earliest copy), in time order."""
    first: dict[str, Order] = {}
    for order in sorted(orders, key=lambda o: (o.at, o.order_id)):
        first.setdefault(order.order_id, order)
    return sorted(first.values(), key=lambda o: (o.at, o.order_id))


def compute_kpis(
    records: ShopRecords,
    period: DateRange,
    *,
    as_of: datetime,
    abandon_after: timedelta = DEFAULT_ABANDON_AFTER,
    attribution_window: timedelta = DEFAULT_ATTRIBUTION_WINDOW,
    active_window: timedelta = DEFAULT_ACTIVE_WINDOW,
) -> ShopKpis:
    orders = unique_orders(records.orders)
    in_range = [o for o in orders if period.holds(o.at)]
    up_to_end = [o for o in orders if o.at < period.until]
    revenue = sum((o.value for o in in_range), start=Decimal(0))

    per_customer: dict[str, int] = defaultdict(int)
    for order in in_range:
        per_customer[order.customer_id] += 1
    previous = period.previous()
    before = {o.customer_id for o in orders if previous.holds(o.at)}
    first_orders = _first_orders(records.first_orders, orders)
    known_by_end = {c for c, at in first_orders.items() if at < period.until}
    active_since = period.until - active_window
    carts = _carts(records, orders, abandon_after, attribution_window, as_of)
    started = [cart for cart in carts if period.holds(cart.started_at)]
    abandoned = [cart for cart in started if cart.abandoned]
    reminded = [cart for cart in abandoned if cart.reminded_at is not None]
    recovered = [cart for cart in reminded if cart.recovered]
    recovering = [
        cart.order
        for cart in carts
        if cart.recovered and cart.order and period.holds(cart.order.at)
    ]
    messages = _messages(records.sends, period)
    emails = messages.get(EMAIL, ChannelStats()).delivered
    unsubscribes = sum(1 for u in records.unsubscribes if period.holds(u.at))
    return ShopKpis(
        period=period,
        as_of=as_of,
        orders=len(in_range),
        revenue=revenue,
        average_order_value=(revenue / len(in_range)).quantize(CENT) if in_range else None,
        customers=len(per_customer),
        new_customers=sum(1 for at in first_orders.values() if period.holds(at)),
        repeat_purchase_rate=Ratio(
            sum(1 for n in per_customer.values() if n >= 2), len(per_customer)
        ),
        active_customers=len({o.customer_id for o in up_to_end if o.at >= active_since}),
        churn_rate=Ratio(len(before - per_customer.keys()), len(before)),
        average_historical_value=(
            (sum((o.value for o in up_to_end), start=Decimal(0)) / len(known_by_end)).quantize(CENT)
            if known_by_end
            else None
        ),
        cohorts=_cohorts(first_orders, up_to_end, period),
        funnel=Funnel(len(started), len(abandoned), len(reminded), len(recovered)),
        cart_abandonment_rate=Ratio(len(abandoned), len(started)),
        recovery_rate=Ratio(len(recovered), len(abandoned)),
        recovered_revenue=sum((o.value for o in recovering), start=Decimal(0)),
        over_time=_over_time(period, in_range, recovering),
        messages=messages,
        unsubscribes=unsubscribes,
        unsubscribe_rate=Ratio(unsubscribes, emails),
        lift=Lift(available=False, reason=NO_HOLDOUT),
        attribution_window_days=attribution_window / timedelta(days=1),
        granularity=_granularity(period),
    )


def _first_orders(known: dict[str, datetime], orders: list[Order]) -> dict[str, datetime]:
    """Each customer's first order: the profile's counter, or an earlier order on record."""
    first = dict(known)
    for order in orders:
        if order.customer_id not in first or order.at < first[order.customer_id]:
            first[order.customer_id] = order.at
    return first


def _month(moment: datetime | date) -> tuple[int, int]:
    return moment.year, moment.month


def _months_between(start: tuple[int, int], end: tuple[int, int]) -> int:
    return (end[0] - start[0]) * 12 + end[1] - start[1]


def _cohorts(
    first_orders: dict[str, datetime], orders: list[Order], period: DateRange
) -> tuple[Cohort, ...]:
    members: dict[tuple[int, int], set[str]] = defaultdict(set)
    for customer, at in first_orders.items():
        if period.holds(at):
            members[_month(at)].add(customer)
    ordered_in: dict[tuple[int, int], set[str]] = defaultdict(set)
    for order in orders:
        ordered_in[_month(order.at)].add(order.customer_id)
    last = _month(period.last)
    cohorts = []
    for month in sorted(members):
        people = members[month]
        active = []
        for k in range(_months_between(month, last) + 1):
            year, index = divmod(month[0] * 12 + month[1] - 1 + k, 12)
            active.append(len(people & ordered_in[(year, index + 1)]))
        # A customer's first order is in their cohort's month by definition.
        active[0] = len(people)
        cohorts.append(Cohort(f"{month[0]:04d}-{month[1]:02d}", len(people), tuple(active)))
    return tuple(cohorts)


@dataclass(frozen=True)
class _Cart:
    customer_id: str
    started_at: datetime
    last_activity_at: datetime
    order: Order | None  # the order that ended it, if any
    abandoned: bool
    reminded_at: datetime | None
    recovered: bool


def _carts(
    records: ShopRecords,
    orders: list[Order],
    abandon_after: timedelta,
    window: timedelta,
    as_of: datetime,
) -> list[_Cart]:
    activity: dict[str, list[datetime]] = defaultdict(list)
    for item in records.cart_activity:
        activity[item.customer_id].append(item.at)
    orders_of: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        orders_of[order.customer_id].append(order)
    delivered: dict[str, list[Send]] = defaultdict(list)
    for send in records.sends:
        if send.status in DELIVERED_STATUSES:
            delivered[send.customer_id].append(send)
    carts: list[_Cart] = []
    for customer, moments in activity.items():
        own_orders = orders_of.get(customer, [])
        order_times = [o.at for o in own_orders]
        sends = sorted(delivered.get(customer, []), key=lambda s: s.at)
        send_times = [s.at for s in sends]
        moments.sort()
        index = 0
        while index < len(moments):
            started = moments[index]
            # The order that ends this cart: the first one at or after its start.
            found = bisect_left(order_times, started)
            order = own_orders[found] if found < len(own_orders) else None
            end = bisect_right(moments, order.at) if order else len(moments)
            last = moments[end - 1]
            index = max(end, index + 1)
            converted = order is not None and order.at <= last + abandon_after
            abandoned = not converted and (order is not None or last + abandon_after <= as_of)
            reminders = [
                s
                for s in sends[bisect_left(send_times, started) :]
                if s.kind == CART_RECOVERY and (order is None or s.at <= order.at)
            ]
            reminded_at = reminders[0].at if abandoned and reminders else None
            recovered = False
            if reminded_at is not None and order is not None and order.at - reminded_at <= window:
                before = [s for s in sends if s.at <= order.at]
                recovered = before[-1].kind == CART_RECOVERY
            carts.append(_Cart(customer, started, last, order, abandoned, reminded_at, recovered))
    return carts


def _messages(sends: list[Send], period: DateRange) -> dict[str, ChannelStats]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for send in sends:
        if not period.holds(send.at) or send.status not in ATTEMPTED_STATUSES:
            continue
        figures = counts[send.channel or "unknown"]
        figures[0] += 1
        figures[1] += send.status in DELIVERED_STATUSES
        figures[2] += send.clicks > 0
    return {channel: ChannelStats(*figures) for channel, figures in sorted(counts.items())}


def _granularity(period: DateRange) -> str:
    return "week" if period.days <= WEEKLY_UP_TO_DAYS else "month"


def _bucket_start(moment: datetime | date, granularity: str) -> date:
    day = moment.date() if isinstance(moment, datetime) else moment
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _over_time(
    period: DateRange, orders: list[Order], recovering: list[Order]
) -> tuple[PeriodRevenue, ...]:
    granularity = _granularity(period)
    starts: list[date] = []
    day = _bucket_start(period.first, granularity)
    while day <= period.last:
        starts.append(day)
        if granularity == "week":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    revenue: dict[date, Decimal] = defaultdict(Decimal)
    recovered: dict[date, Decimal] = defaultdict(Decimal)
    for order in orders:
        revenue[_bucket_start(order.at, granularity)] += order.value
    for order in recovering:
        recovered[_bucket_start(order.at, granularity)] += order.value
    return tuple(
        PeriodRevenue(
            start.isoformat() if granularity == "week" else start.strftime("%Y-%m"),
            start,
            revenue[start],
            recovered[start],
        )
        for start in starts
    )


# -- the API's answer ------------------------------------------------------------------------


def _ratio(ratio: Ratio) -> dict[str, Any]:
    value = ratio.value
    return {
        "numerator": ratio.numerator,
        "denominator": ratio.denominator,
        "value": None if value is None else round(value, 6),
    }


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def kpis_as_json(kpis: ShopKpis) -> dict[str, Any]:
    """The figures as JSON: money as exact decimal text, rates with their two counts."""
    return {
        "from": kpis.period.first.isoformat(),
        "to": kpis.period.last.isoformat(),
        "as_of": kpis.as_of.isoformat(),
        "orders": kpis.orders,
        "revenue": _money(kpis.revenue),
        "average_order_value": _money(kpis.average_order_value),
        "customers": kpis.customers,
        "new_customers": kpis.new_customers,
        "repeat_purchase_rate": _ratio(kpis.repeat_purchase_rate),
        "active_customers": kpis.active_customers,
        "churn_rate": _ratio(kpis.churn_rate),
        "average_historical_customer_value": _money(kpis.average_historical_value),
        "cohort_retention": [
            {
                "cohort": c.month,
                "customers": c.customers,
                "active": list(c.active),
                "retention": [round(r, 6) for r in c.retention],
            }
            for c in kpis.cohorts
        ],
        "carts": {
            "started": kpis.funnel.carts,
            "abandoned": kpis.funnel.abandoned,
            "reminded": kpis.funnel.reminded,
            "recovered": kpis.funnel.recovered,
        },
        "cart_abandonment_rate": _ratio(kpis.cart_abandonment_rate),
        "recovery_rate": _ratio(kpis.recovery_rate),
        "recovered_revenue": _money(kpis.recovered_revenue),
        "attribution_window_days": kpis.attribution_window_days,
        "over_time": {
            "granularity": kpis.granularity,
            "periods": [
                {
                    "period": p.label,
                    "revenue": _money(p.revenue),
                    "recovered_revenue": _money(p.recovered_revenue),
                }
                for p in kpis.over_time
            ],
        },
        "messages": {
            channel: {"sent": s.sent, "delivered": s.delivered, "clicked": s.clicked}
            for channel, s in kpis.messages.items()
        },
        "unsubscribes": kpis.unsubscribes,
        "unsubscribe_rate": _ratio(kpis.unsubscribe_rate),
        "lift_over_holdout": {
            "available": kpis.lift.available,
            "reason": kpis.lift.reason,
            "lift": kpis.lift.lift,
            "confidence_interval": (
                [kpis.lift.confidence_low, kpis.lift.confidence_high]
                if kpis.lift.available
                else None
            ),
        },
    }
