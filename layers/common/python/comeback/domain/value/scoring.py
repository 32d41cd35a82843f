"""A shop's value model, fitted over its customers, and each customer's scores from it: RFM
score and segment, probability of being alive, expected purchases and predicted value.

The inputs are the order counters a profile keeps (purchase occasions, revenue and the first
day's share of it, first and last order), not the order history, so scoring reads one item per
customer and gives the same summaries as `summary.summarise` over the raw orders: on the CDNOW
sample it reproduces the published parameters (tests). Profiles written before occasions were
counted read as one occasion per order, with all revenue counted as repeat spend.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from comeback.domain.value import bgnbd, gamma_gamma
from comeback.domain.value.optimise import FitError
from comeback.domain.value.rfm import Buyer, CutPoints, fit_cut_points, score
from comeback.domain.value.summary import CustomerSummary

WEEK_DAYS = 7.0
# Fewer repeat buyers than this and the models' parameters mean little: scores stay RFM-only.
MIN_REPEAT_BUYERS = 20
# When the plain fit runs to an edge (a small shop's data often cannot tell its customers'
# dropout probabilities or spending apart), it is refitted with this ridge on log-parameters.
SMALL_SHOP_PENALTY = 0.001
EDGE = 1e5
# A P(alive) win-back further away than this is no win-back (ten years).
MAX_REACTIVATION_WEEKS = 520


@dataclass(frozen=True)
class OrderCounters:
    """What a profile knows of a customer's orders."""

    count: int
    revenue: Decimal
    first_at: datetime
    last_at: datetime
    occasions: int | None = None
    first_day_revenue: Decimal | None = None


@dataclass(frozen=True)
class ShopValueModel:
    fitted_at: datetime
    customers: int
    repeat_customers: int
    cuts: CutPoints
    bgnbd: bgnbd.BgNbdParams | None
    gamma_gamma: gamma_gamma.GammaGammaParams | None
    # Why there is no predictive model, when there is none.
    not_fitted_because: str | None = None
    # True when the plain maximum-likelihood fit ran to an edge and a ridge was applied.
    regularised: bool = False


@dataclass(frozen=True)
class CustomerValue:
    rfm: str
    segment: str
    probability_alive: float | None
    expected_purchases: float | None
    predicted_value: Decimal | None
    # When P(alive) falls below the shop's win-back threshold if they buy nothing more.
    reactivate_at: datetime | None = None
    # Purchase occasions a year since the first one (historical purchase frequency).
    purchases_per_year: float | None = None


def _weeks(days: int) -> float:
    return days / WEEK_DAYS


def summary_of(orders: OrderCounters, now: datetime) -> CustomerSummary:
    """The models' summary, in whole days as `summary.summarise` counts them."""
    occasions = orders.occasions if orders.occasions is not None else orders.count
    repeats = max(occasions - 1, 0)
    repeat_revenue = orders.revenue - (orders.first_day_revenue or Decimal(0))
    first, last = orders.first_at.date(), orders.last_at.date()
    return CustomerSummary(
        frequency=repeats,
        recency=_weeks((last - first).days) if repeats else 0.0,
        age=_weeks(max((now.date() - first).days, 0)),
        monetary=float(repeat_revenue) / repeats if repeats else 0.0,
    )


def _buyer(orders: OrderCounters) -> Buyer:
    return Buyer(orders.last_at.date(), orders.count, float(orders.revenue))


def fit_shop(customers: Iterable[OrderCounters], now: datetime) -> ShopValueModel:
    """RFM cut points always; BG/NBD and Gamma-Gamma when enough customers bought again."""
    buyers = [c for c in customers if c.count > 0]
    if not buyers:
        raise ValueError("no customer has ordered yet")
    summaries = [summary_of(c, now) for c in buyers]
    repeat = sum(1 for s in summaries if s.frequency > 0)
    cuts = fit_cut_points([_buyer(c) for c in buyers], now.date())
    if repeat < MIN_REPEAT_BUYERS:
        reason = f"{repeat} repeat customers; the models need at least {MIN_REPEAT_BUYERS}"
        return ShopValueModel(now, len(buyers), repeat, cuts, None, None, reason)
    try:
        params, spend = bgnbd.fit(summaries), gamma_gamma.fit(summaries)
        regularised = False
    except FitError:
        params = spend = None
    if params is None or spend is None or _at_edge(params, spend):
        try:
            params = bgnbd.fit(summaries, penalty=SMALL_SHOP_PENALTY)
            spend = gamma_gamma.fit(summaries, penalty=SMALL_SHOP_PENALTY)
            regularised = True
        except FitError as error:
            return ShopValueModel(now, len(buyers), repeat, cuts, None, None, str(error))
    return ShopValueModel(now, len(buyers), repeat, cuts, params, spend, None, regularised)


def _at_edge(params: bgnbd.BgNbdParams, spend: gamma_gamma.GammaGammaParams) -> bool:
    values = (params.r, params.alpha, params.a, params.b, spend.p, spend.q, spend.gamma)
    return any(v > EDGE or v < 1 / EDGE for v in values) or spend.q <= 1


def value_of(
    orders: OrderCounters,
    model: ShopValueModel,
    now: datetime,
    *,
    horizon_weeks: int,
    discount_rate_per_week: float,
    reactivate_below: float | None = None,
) -> CustomerValue:
    rfm = score(_buyer(orders), model.cuts, now.date())
    summary = summary_of(orders, now)
    # Over at least four weeks: a first-week buyer is not buying 52 times a year.
    per_year = round((summary.frequency + 1) / max(summary.age, 4.0) * 52, 2)
    if model.bgnbd is None or model.gamma_gamma is None:
        return CustomerValue(rfm.code, rfm.segment, None, None, None, None, per_year)
    x, t_x, age = summary.frequency, summary.recency, summary.age
    alive = bgnbd.probability_alive(model.bgnbd, x, t_x, age)
    expected = bgnbd.conditional_expected_purchases(model.bgnbd, horizon_weeks, x, t_x, age)
    predicted = gamma_gamma.lifetime_value(
        model.bgnbd, model.gamma_gamma, summary, horizon_weeks, discount_rate_per_week
    )
    reactivate_at = None
    if reactivate_below is not None:
        weeks = bgnbd.alive_until(model.bgnbd, x, t_x, reactivate_below)
        if weeks is not None and weeks < MAX_REACTIVATION_WEEKS:
            first_day = datetime.combine(orders.first_at.date(), time(), tzinfo=UTC)
            reactivate_at = first_day + timedelta(days=weeks * WEEK_DAYS)
    return CustomerValue(
        rfm=rfm.code,
        segment=rfm.segment,
        probability_alive=round(alive, 4),
        expected_purchases=round(expected, 4),
        predicted_value=Decimal(str(round(predicted, 2))),
        reactivate_at=reactivate_at,
        purchases_per_year=per_year,
    )
