"""Gamma-Gamma: what a customer's purchases will be worth, and their discounted lifetime value.

Fader, Hardie and Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", Journal of Marketing Research 42(4), after Colombo and Jiang (1999). The values of
one customer's transactions are gamma(p, nu) around their own mean p / nu, and nu is
gamma(q, gamma) across customers. Spend is assumed independent of how often one buys, which
is what lets it be multiplied with BG/NBD's purchase counts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from comeback.domain.value import bgnbd
from comeback.domain.value.optimise import FitError, log_ridge, minimise_positive
from comeback.domain.value.summary import CustomerSummary


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float


def log_likelihood(params: GammaGammaParams, x: int, mean_value: float) -> float:
    """The log-density of a customer's mean spend over x transactions.

    The sum of x gamma(p, nu) values is gamma(px, nu), so their mean is gamma(px, x nu);
    mixing over nu gives (the paper's eq. 3, derived in its appendix)
    G(px+q) / (G(px) G(q)) gamma^q m^(px-1) x^(px) / (gamma + m x)^(px+q).
    """
    if x <= 0 or mean_value <= 0:
        raise ValueError("needs x > 0 transactions of positive mean value")
    p, q, g = params.p, params.q, params.gamma
    px = p * x
    return (
        math.lgamma(px + q)
        - math.lgamma(px)
        - math.lgamma(q)
        + q * math.log(g)
        + (px - 1.0) * math.log(mean_value)
        + px * math.log(x)
        - (px + q) * math.log(g + mean_value * x)
    )


def fit(summaries: Iterable[CustomerSummary], *, penalty: float = 0.0) -> GammaGammaParams:
    """The maximum-likelihood parameters, from the customers who bought again (`penalty`: as
    in `bgnbd.fit`).

    Each customer contributes x = their repeat purchase occasions and m = the mean value of
    those occasions (CustomerSummary.monetary: the first purchase left out, one day's orders
    summed into one). That is the definition of Fader, Hardie and Lee (2005), and on the CDNOW
    sample it reproduces their p = 6.25, q = 3.74, gamma = 15.44; averaging the individual
    orders instead, or including the first purchase, does not. Customers without a repeat,
    or whose repeats were worth nothing, carry no information on spend and are left out.
    """
    spends = Counter(
        (s.frequency, s.monetary) for s in summaries if s.frequency > 0 and s.monetary > 0
    )
    customers = sum(spends.values())
    if customers == 0:
        raise FitError("Gamma-Gamma needs customers who bought again")
    mean_spend = sum(m * count for (_, m), count in spends.items()) / customers

    def objective(point: tuple[float, ...]) -> float:
        params = GammaGammaParams(*point)
        return -math.fsum(
            count * log_likelihood(params, x, m) for (x, m), count in spends.items()
        ) / customers + log_ridge(point, penalty)

    # Start with the population's mean spend (p gamma / (q - 1)) at the observed mean.
    found = minimise_positive(objective, (1.0, 2.0, mean_spend))
    return GammaGammaParams(*found.x)


def expected_average_spend(params: GammaGammaParams, x: int, mean_value: float) -> float:
    """A customer's expected spend per transaction, given x transactions of mean mean_value.

    E = p (gamma + x m) / (p x + q - 1): a weighted average of the population mean
    p gamma / (q - 1) and the customer's own mean, trusting the latter more the more
    transactions it rests on. For x = 0 it is the population mean, which exists for q > 1.
    """
    denominator = params.p * x + params.q - 1.0
    if x < 0 or denominator <= 0:
        raise ValueError("the expected spend is finite only for px + q > 1 and x >= 0")
    return params.p * (params.gamma + x * mean_value) / denominator


def lifetime_value(
    bgnbd_params: bgnbd.BgNbdParams,
    gg: GammaGammaParams,
    summary: CustomerSummary,
    horizon_weeks: int,
    discount_rate_per_week: float,
    *,
    unit_days: float = 7.0,
) -> float:
    """Expected revenue from a customer over the next `horizon_weeks`, discounted weekly.

    sum over k = 1..horizon of E[spend] (E[Y(k)] - E[Y(k-1)]) / (1 + d)^k, where E[Y(k)] is
    BG/NBD's expected purchases in the next k weeks (so the difference is week k's) and each
    week's revenue is discounted as if received at its end. E[spend] is Gamma-Gamma's expected
    spend per purchase; multiplying the two is valid because the model takes spend to be
    independent of purchase timing. This is revenue: apply the shop's margin outside.
    `unit_days` is the time unit the models were fitted in (summarise's, weeks by default).
    """
    if horizon_weeks < 0 or discount_rate_per_week <= -1 or unit_days <= 0:
        raise ValueError("need horizon_weeks >= 0, discount rate > -1, unit_days > 0")
    spend = expected_average_spend(gg, summary.frequency, summary.monetary)
    week = 7.0 / unit_days
    total, before = 0.0, 0.0
    for k in range(1, horizon_weeks + 1):
        by_now = bgnbd.conditional_expected_purchases(
            bgnbd_params, k * week, summary.frequency, summary.recency, summary.age
        )
        total += spend * (by_now - before) / (1.0 + discount_rate_per_week) ** k
        before = by_now
    return total
