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
- lift over holdout, per journey (cart recovery is the headline): a share of the people who
  enter a journey is held out by a stable hash and gets nothing. An entry is the journey's
  first step on record, not skipped for a reason that means the person never entered; it
  converts when its customer ordered at or after it and within `attribution_window`. Lift:
  the treated entries' conversion rate minus the held-out entries' one, with a 95% interval
  (Newcombe's hybrid score method), for entries in the range. Not available, with the
  reason, when either group is empty or smaller than `MIN_GROUP_ENTRIES`.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from comeback.domain.journeys import HOLDOUT, NEVER_ENTERED

CART_RECOVERY = "cart_recovery"
REACTIVATION = "reactivation"
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
# Journeys. The sender writes these skip reasons as plain text (it does not import this
# module): a test pins them. A step-0 record skipped for the holdout is a held-out entry; one
# skipped for a reason below means the person never entered (the cart closed, the profile
# went, ...); any other step-0 record is a treated entry (intent to treat: one we could not
# reach, e.g. without consent, still counts as treated, so both groups are alike but for
# the messages).
HOLDOUT_REASON = HOLDOUT
NOT_ENTERED_REASONS = NEVER_ENTERED
# Send records from before journeys had steps: these kinds were single-step journeys, so a
# record without a step is their step 0. Other kinds without a step (product alerts) are not
# journeys.
SINGLE_STEP_JOURNEYS = frozenset({CART_RECOVERY, REACTIVATION})
# Below this many entries in either group the comparison says too little to show.
MIN_GROUP_ENTRIES = 30
# The standard normal quantile for a two-sided 95% interval.
Z_95 = 1.959963984540054
NO_ENTRIES = "no one entered this journey in the range"
NO_HOLDOUT = (
    "no held-out entries in the range: no one who entered was held out, so there is no "
    "comparable group left unmessaged to measure against"
)
NO_TREATMENT = "no treated entries in the range: everyone who entered was held out"


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
class JourneyEntry:
    """A person entering a journey (its step 0), in the holdout group or the treated one."""

    customer_id: str
    journey: str  # the journey's message kind: cart_recovery, reactivation, ...
    at: datetime
    held_out: bool


@dataclass(frozen=True)
class ShopRecords:
    orders: list[Order] = field(default_factory=list)
    cart_activity: list[CartActivity] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    unsubscribes: list[Unsubscribe] = field(default_factory=list)
    # Each customer's first order as their profile counts it (it outlives the raw events).
    first_orders: dict[str, datetime] = field(default_factory=dict)
    entries: list[JourneyEntry] = field(default_factory=list)


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
    """A journey's treated entries against its held-out ones. The counts are there even when
    the lift is not (`available` False, with the `reason`)."""

    available: bool
    reason: str | None = None
    lift: float | None = None  # treated rate - held-out rate, a fraction (0.02: 2 points)
    confidence_low: float | None = None
    confidence_high: float | None = None
    treatment_entries: int = 0
    treatment_conversions: int = 0
    holdout_entries: int = 0
    holdout_conversions: int = 0
    relative_lift: float | None = None  # lift / held-out rate; None when that rate is 0
    incremental_revenue: Decimal | None = None

    @property
    def treatment_rate(self) -> Ratio:
        return Ratio(self.treatment_conversions, self.treatment_entries)

    @property
    def holdout_rate(self) -> Ratio:
        return Ratio(self.holdout_conversions, self.holdout_entries)


@dataclass(frozen=True)
class Attributed:
    orders: int
    revenue: Decimal


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
    lift: Lift  # the cart recovery journey's
    attribution_window_days: float
    granularity: str  # "week" or "month": the buckets of `over_time`
    lift_by_journey: dict[str, Lift] = field(default_factory=dict)
    # Orders in the range credited to the last message delivered to the customer within the
    # attribution window before the order (last touch), by the message's kind.
    attributed: dict[str, Attributed] = field(default_factory=dict)


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
    lifts = _lifts(records.entries, orders, period, attribution_window)
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
        lift=lifts.get(CART_RECOVERY, Lift(available=False, reason=NO_ENTRIES)),
        attribution_window_days=attribution_window / timedelta(days=1),
        granularity=_granularity(period),
        lift_by_journey=lifts,
        attributed=_attribution(in_range, records.sends, attribution_window),
    )


def _attribution(
    orders: list[Order], sends: list[Send], window: timedelta
) -> dict[str, Attributed]:
    """Last touch: each order goes to the last message the customer was delivered within
    `window` before it (at most one message per order; orders with none are unattributed)."""
    delivered: dict[str, list[Send]] = defaultdict(list)
    for send in sends:
        if send.status in DELIVERED_STATUSES:
            delivered[send.customer_id].append(send)
    for own in delivered.values():
        own.sort(key=lambda s: s.at)
    counts: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for order in orders:
        own = delivered.get(order.customer_id, [])
        last = bisect_right([s.at for s in own], order.at) - 1
        if last < 0 or order.at - own[last].at > window:
            continue
        figures = counts[own[last].kind]
        figures[0] += 1
        figures[1] += order.value
    return {kind: Attributed(n, value) for kind, (n, value) in sorted(counts.items())}


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


def journey_entry(
    customer_id: str,
    *,
    kind: str,
    step: int | None,
    status: str,
    detail: str | None,
    at: datetime,
) -> JourneyEntry | None:
    """The journey entry a send record stands for, if any: its journey's step 0 (a record
    without a step is step 0 of the single-step journeys that came before steps), unless it
    was skipped because the person was no longer there to enter (`NOT_ENTERED_REASONS`)."""
    if step is None and kind not in SINGLE_STEP_JOURNEYS:
        return None  # not a journey (a product alert) or not a step we can place
    if (step or 0) != 0:
        return None
    skipped = status == "skipped"
    if skipped and detail in NOT_ENTERED_REASONS:
        return None
    return JourneyEntry(customer_id, kind, at, held_out=skipped and detail == HOLDOUT_REASON)


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for one proportion: unlike p +- z*se it stays within [0, 1]
    and does not collapse to a point at 0 or n successes, which conversion rates often are
    near."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError("need 0 <= successes <= trials and trials > 0")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def newcombe_interval(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, z: float = Z_95
) -> tuple[float, float]:
    """A confidence interval for p_a - p_b, two independent proportions, by the hybrid score
    method: method 10 of Newcombe, R. G. (1998). Interval estimation for the difference
    between independent proportions. Statistics in Medicine 17, 873-890.

    Each proportion gets its Wilson score interval (l, u); the difference d = p_a - p_b then
    runs from d - sqrt((p_a - l_a)^2 + (u_b - p_b)^2) to d + sqrt((u_a - p_a)^2 + (p_b -
    l_b)^2). Chosen over the textbook d +- z*se because that one is too narrow for small
    groups and rates near 0, exactly a small holdout's case; this one keeps close to its
    nominal coverage there, needs no iteration and stays within [-1, 1]."""
    p_a, p_b = successes_a / trials_a, successes_b / trials_b
    low_a, high_a = wilson_interval(successes_a, trials_a, z)
    low_b, high_b = wilson_interval(successes_b, trials_b, z)
    difference = p_a - p_b
    return (
        difference - math.hypot(p_a - low_a, high_b - p_b),
        difference + math.hypot(high_a - p_a, p_b - low_b),
    )


def _lifts(
    entries: list[JourneyEntry], orders: list[Order], period: DateRange, window: timedelta
) -> dict[str, Lift]:
    """Each journey's lift over its holdout, for the entries in the range (their orders may
    come after it). `orders` are unique and in time order."""
    orders_of: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        orders_of[order.customer_id].append(order)
    times_of = {customer: [o.at for o in own] for customer, own in orders_of.items()}
    # Per journey and group (held out or not): entries, and each converting entry's order.
    entered: dict[str, dict[bool, int]] = defaultdict(lambda: {False: 0, True: 0})
    converted: dict[str, dict[bool, list[Order]]] = defaultdict(lambda: {False: [], True: []})
    for entry in entries:
        if not period.holds(entry.at):
            continue
        entered[entry.journey][entry.held_out] += 1
        times = times_of.get(entry.customer_id, [])
        found = bisect_left(times, entry.at)  # the first order at or after the entry
        if found < len(times) and times[found] <= entry.at + window:
            converted[entry.journey][entry.held_out].append(orders_of[entry.customer_id][found])
    return {
        journey: _lift(
            entered[journey][False],
            converted[journey][False],
            entered[journey][True],
            len(converted[journey][True]),
        )
        for journey in sorted(entered)
    }


def _lift(
    treated: int, treated_orders: list[Order], held_out: int, held_out_conversions: int
) -> Lift:
    counts = Lift(
        available=False,
        treatment_entries=treated,
        treatment_conversions=len(treated_orders),
        holdout_entries=held_out,
        holdout_conversions=held_out_conversions,
    )
    reason = None
    if not treated and not held_out:
        reason = NO_ENTRIES
    elif not held_out:
        reason = NO_HOLDOUT
    elif not treated:
        reason = NO_TREATMENT
    elif held_out < MIN_GROUP_ENTRIES:
        reason = f"too few held-out entries to compare: {held_out} of {MIN_GROUP_ENTRIES} needed"
    elif treated < MIN_GROUP_ENTRIES:
        reason = f"too few treated entries to compare: {treated} of {MIN_GROUP_ENTRIES} needed"
    if reason is not None:
        return replace(counts, reason=reason)
    treated_rate = len(treated_orders) / treated
    held_out_rate = held_out_conversions / held_out
    lift = treated_rate - held_out_rate
    low, high = newcombe_interval(len(treated_orders), treated, held_out_conversions, held_out)
    return replace(
        counts,
        available=True,
        lift=lift,
        confidence_low=low,
        confidence_high=high,
        relative_lift=lift / held_out_rate if held_out_rate else None,
        incremental_revenue=_incremental_revenue(
            treated, treated_orders, held_out, held_out_conversions
        ),
    )


def _incremental_revenue(
    treated: int, treated_orders: list[Order], held_out: int, held_out_conversions: int
) -> Decimal | None:
    """The conversions the messages added (lift x treated entries) times what a treated
    conversion was worth on average (the value of each converting entry's order). A point
    estimate, exact in decimals: None when no treated entry converted (no value to go by)."""
    if not treated_orders:
        return None
    # lift x treated entries, without the float: conversions beyond the held-out rate's.
    extra = len(treated_orders) - Decimal(treated) * held_out_conversions / held_out
    average = sum((o.value for o in treated_orders), start=Decimal(0)) / len(treated_orders)
    return (extra * average).quantize(CENT)


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


def _fraction(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def lift_as_json(lift: Lift) -> dict[str, Any]:
    """A journey's lift: the first four keys are the ones the API had before the holdout."""
    return {
        "available": lift.available,
        "reason": lift.reason,
        "lift": _fraction(lift.lift),
        "confidence_interval": (
            [_fraction(lift.confidence_low), _fraction(lift.confidence_high)]
            if lift.available
            else None
        ),
        "confidence_level": 0.95,
        "relative_lift": _fraction(lift.relative_lift),
        "treatment": {
            "entries": lift.treatment_entries,
            "conversions": lift.treatment_conversions,
            "conversion_rate": _fraction(lift.treatment_rate.value),
        },
        "holdout": {
            "entries": lift.holdout_entries,
            "conversions": lift.holdout_conversions,
            "conversion_rate": _fraction(lift.holdout_rate.value),
        },
        "incremental_revenue": _money(lift.incremental_revenue),
    }


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
        "lift_over_holdout": {"journey": CART_RECOVERY, **lift_as_json(kpis.lift)},
        "attributed": {
            kind: {"orders": a.orders, "revenue": _money(a.revenue)}
            for kind, a in kpis.attributed.items()
        },
        "lift_by_journey": {
            journey: lift_as_json(lift) for journey, lift in kpis.lift_by_journey.items()
        },
    }
