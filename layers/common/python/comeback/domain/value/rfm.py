"""RFM: how recently, how often and for how much each customer bought, scored 1 to 5 against the
shop's own customers, and the named segment a marketer would act on.

Scores come from quintile cut points computed over all of a shop's buyers (`fit_cut_points`);
the cut points are small and kept per shop, so scoring one profile after an order needs no
scan (`score`). Ties stay together: a customer is never scored apart from another with the
same value, which matters for frequency, where most customers have bought once.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

SCORES = 5


@dataclass(frozen=True)
class Buyer:
    """What RFM needs of one customer: the day of the last order, orders and revenue."""

    last_order_on: date
    orders: int
    revenue: float


@dataclass(frozen=True)
class CutPoints:
    """Four cut points per measure (the 20th, 40th, 60th and 80th percentiles)."""

    recency_days: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]
    as_of: date
    buyers: int


@dataclass(frozen=True)
class RfmScore:
    recency: int
    frequency: int
    monetary: int
    segment: str

    @property
    def code(self) -> str:
        return f"{self.recency}{self.frequency}{self.monetary}"


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (the usual definition, numpy's default)."""
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _cuts(values: list[float]) -> tuple[float, ...]:
    ordered = sorted(values)
    return tuple(_percentile(ordered, k / SCORES) for k in range(1, SCORES))


def fit_cut_points(buyers: Sequence[Buyer], as_of: date) -> CutPoints:
    """Quintile cut points over a shop's buyers, as of a day (recency counts to it)."""
    if not buyers:
        raise ValueError("RFM needs at least one customer with an order")
    return CutPoints(
        recency_days=_cuts([float((as_of - b.last_order_on).days) for b in buyers]),
        frequency=_cuts([float(b.orders) for b in buyers]),
        monetary=_cuts([b.revenue for b in buyers]),
        as_of=as_of,
        buyers=len(buyers),
    )


def _rank(value: float, cuts: Sequence[float]) -> int:
    """1 to 5: one more than the number of cut points strictly below the value, so a value
    equal to a cut point falls in the lower band with everything tied to it."""
    return 1 + bisect_left(cuts, value)


def segment_of(recency: int, frequency: int, monetary: int) -> str:
    """The named segment for a score. Recency decides first (a customer gone quiet is at risk
    however much they bought), then how often and how much they bought."""
    value = max(frequency, monetary)
    if recency >= 4:
        if frequency >= 4 and monetary >= 4:
            return "champions"
        if frequency >= 3 or value >= 4:
            return "loyal"
        if frequency == 1:
            return "new"
        return "potential_loyalists"
    if recency == 3:
        if frequency >= 3 or value >= 4:
            return "loyal"
        return "needs_attention"
    if value >= 4 or frequency >= 3:
        return "cannot_lose" if recency == 1 and frequency >= 4 else "at_risk"
    return "hibernating" if recency == 2 else "lost"


def score(buyer: Buyer, cuts: CutPoints, as_of: date | None = None) -> RfmScore:
    """A buyer's scores against a shop's cut points (recency counted to `as_of`, by default
    the day the cut points were fitted for)."""
    day = as_of or cuts.as_of
    recency_days = float((day - buyer.last_order_on).days)
    # Fewer days since the last order is better: reverse the rank.
    recency = SCORES + 1 - _rank(recency_days, cuts.recency_days)
    frequency = _rank(float(buyer.orders), cuts.frequency)
    monetary = _rank(buyer.revenue, cuts.monetary)
    return RfmScore(recency, frequency, monetary, segment_of(recency, frequency, monetary))


SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "needs_attention",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
)
