"""Per-customer purchase summaries (frequency, recency, age, spend), the only input the value
models need."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class CustomerSummary:
    """One customer's calibration history, in model time units (weeks by default).

    frequency: repeat purchase occasions, i.e. days with a purchase after the first one (x).
    recency: time from the first purchase to the last one (t_x); 0 without a repeat.
    age: time from the first purchase to the end of the calibration period (T).
    monetary: mean value of the repeat purchase occasions; 0 without a repeat.
    """

    frequency: int
    recency: float
    age: float
    monetary: float


def summarise(
    transactions: Iterable[tuple[str, date, Decimal | float]],
    calibration_end: date,
    unit_days: float = 7.0,
) -> dict[str, CustomerSummary]:
    """Summaries of every customer whose first purchase is on or before `calibration_end`.

    Transactions are (customer id, day, value); later ones are ignored. Several on one day are
    one purchase occasion of their summed value: BG/NBD counts occasions, and a basket split
    into several orders would otherwise look like a loyal customer. The first occasion is not
    a repeat, so it counts neither in the frequency nor in the mean spend (Gamma-Gamma models
    the value of repeat purchases, and the first basket is often atypical).

    Times are whole days between purchase dates, and the age runs up to `calibration_end`
    itself (a purchase made that day still counts, at t_x = T). That is how Fader, Hardie and
    Lee (2005) measured the CDNOW sample: their first customer bought on 1997-01-01, again on
    1997-01-18 and 1997-08-02, so x = 2, t_x = 213/7 = 30.43 and, to 1997-09-30,
    T = 272/7 = 38.86, their worked example. Counting the end day in full instead moves
    every T by a day and the fitted log-likelihood away from theirs.
    """
    if unit_days <= 0:
        raise ValueError("unit_days must be positive")
    values: defaultdict[str, defaultdict[date, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for customer, day, value in transactions:
        if day <= calibration_end:
            values[customer][day].append(float(value))
    summaries: dict[str, CustomerSummary] = {}
    for customer, days in values.items():
        ordered = sorted(days)
        first, last = ordered[0], ordered[-1]
        repeats = [math.fsum(days[day]) for day in ordered[1:]]
        summaries[customer] = CustomerSummary(
            frequency=len(repeats),
            recency=(last - first).days / unit_days,
            age=(calibration_end - first).days / unit_days,
            monetary=math.fsum(repeats) / len(repeats) if repeats else 0.0,
        )
    return summaries
