"""BG/NBD: how many purchases a customer will make, from how often and how recently they bought.

Fader, Hardie and Lee (2005), "'Counting your customers' the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2). While active, a customer buys at a Poisson rate
(gamma-distributed across customers: shape r, rate alpha); after each purchase they drop out
for good with a probability p (beta-distributed across customers: a, b). Equation numbers
below are the paper's.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from comeback.domain.value.optimise import FitError, log_ridge, minimise_positive
from comeback.domain.value.summary import CustomerSummary


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


def log_likelihood(params: BgNbdParams, x: int, t_x: float, T: float) -> float:
    """The log of one customer's likelihood (eq. 6)."""
    _check_history(x, t_x, T)
    return _shared_terms(params, x) + _own_terms(params, x, t_x, T)


def total_log_likelihood(params: BgNbdParams, summaries: Iterable[CustomerSummary]) -> float:
    """The log-likelihood of a whole customer base (the paper's -9582.4 for CDNOW)."""
    return math.fsum(
        count * log_likelihood(params, x, t_x, T)
        for (x, t_x, T), count in _histories(summaries).items()
    )


def fit(summaries: Iterable[CustomerSummary], *, penalty: float = 0.0) -> BgNbdParams:
    """The maximum-likelihood parameters for a customer base.

    `penalty` > 0 adds penalty * sum(log(param)^2) to the objective: a ridge on the log scale
    that keeps a small shop's fit away from the edges (a and b grow without bound when the
    data cannot tell customers' dropout probabilities apart). 0 is the plain maximum.

    Customers with the same history share one term, and the parts that depend on x alone are
    computed once per x, so one evaluation costs a few logarithms per distinct history. The
    objective is the mean log-likelihood per customer, so the minimiser's absolute tolerance
    means the same whatever the shop's size. Raises FitError if it cannot fit.
    """
    histories = _histories(summaries)
    customers = sum(histories.values())
    if customers == 0 or not any(x > 0 for x, _, _ in histories):
        raise FitError("BG/NBD needs customers, some of whom bought again")
    by_x = Counter[int]()
    for (x, _, _), count in histories.items():
        by_x[x] += count
    mean_age = sum(T * count for (_, _, T), count in histories.items()) / customers

    def objective(point: tuple[float, ...]) -> float:
        params = BgNbdParams(*point)
        shared = math.fsum(count * _shared_terms(params, x) for x, count in by_x.items())
        own = math.fsum(
            count * _own_terms(params, x, t_x, T) for (x, t_x, T), count in histories.items()
        )
        return -(shared + own) / customers + log_ridge(point, penalty)

    # Start from one purchase per customer's age, and a uniform dropout probability.
    found = minimise_positive(objective, (1.0, max(mean_age, 1e-6), 1.0, 1.0))
    return BgNbdParams(*found.x)


def probability_alive(params: BgNbdParams, x: int, t_x: float, T: float) -> float:
    """The probability that a customer has not dropped out by T (eq. 13).

    Without a repeat purchase it is 1: in BG/NBD a customer can only drop out right after a
    purchase, and the first one is not counted.
    """
    _check_history(x, t_x, T)
    if x == 0:
        return 1.0
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_odds = (
        math.log(a)
        - math.log(b + (x - 1))
        + (r + x) * (math.log(alpha + T) - math.log(alpha + t_x))
    )
    # 1 / (1 + e^L) without overflow when the odds of having left are huge.
    if log_odds > 0:
        odds_alive = math.exp(-log_odds)
        return odds_alive / (1.0 + odds_alive)
    return 1.0 / (1.0 + math.exp(log_odds))


def alive_until(params: BgNbdParams, x: int, t_x: float, threshold: float) -> float | None:
    """The age T at which a customer who buys nothing more falls below `threshold` P(alive):
    eq. 13 solved for T, (alpha + t_x) e^((ln((1 - p)/p) - ln a + ln(b + x - 1)) / (r + x))
    - alpha, never before their last purchase. None without a repeat purchase (they stay
    alive in the model: another rule must decide when they have lapsed)."""
    if not 0 < threshold < 1:
        raise ValueError("threshold must be between 0 and 1")
    _check_history(x, t_x, t_x)
    if x == 0:
        return None
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    exponent = (math.log((1 - threshold) / threshold) - math.log(a) + math.log(b + x - 1)) / (r + x)
    if exponent > 700:  # never within any horizon worth a timer
        return math.inf
    return max((alpha + t_x) * math.exp(exponent) - alpha, t_x)


def conditional_expected_purchases(
    params: BgNbdParams,
    t: float,
    x: int,
    t_x: float,
    T: float,
) -> float:
    """Expected purchases in the next `t` by a customer with history (x, t_x, T) (eq. 10).

    Eq. 10 multiplies ((alpha+T) / (alpha+T+t))^(r+x) by 2F1(r+x, b+x; a+b+x-1; z), with
    z = t / (alpha+T+t). For a frequent buyer the hypergeometric factor is enormous and the
    power tiny; Euler's transformation (DLMF 15.8.1) turns their product into
    (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose parameters stay small for any x.
    """
    _check_history(x, t_x, T)
    if t < 0:
        raise ValueError("t must not be negative")
    if t == 0:
        return 0.0
    alive = probability_alive(params, x, t_x, T)
    z = t / (params.alpha + T + t)

    def bracket(a: float) -> float:
        r, b = params.r, params.b
        c = a + b + (x - 1)
        remaining = 1.0 - (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        return c / (a - 1.0) * remaining

    return alive * _away_from_poles(bracket, params.a, params.b + (x - 1))


def expected_purchases(params: BgNbdParams, t: float) -> float:
    """Expected purchases in a period of length `t` by a new customer (eq. 9).

    Eq. 9 is eq. 10 for a customer just acquired: no repeat yet, observed for no time.
    """
    return conditional_expected_purchases(params, t, 0, 0.0, 0.0)


def hyp2f1(a: float, b: float, c: float, z: float) -> float:
    """The Gauss hypergeometric function 2F1(a, b; c; z) for real arguments and z <= 1.

    For 0 <= z <= 1/2 the Maclaurin series converges at least like 2^-n. Negative z is brought
    into (0, 1) by Pfaff's transformation (DLMF 15.8.1). Above 1/2 the series is tried first,
    as it still converges fast when c is large (eq. 10 for a frequent buyer). Where it would
    need too many terms, the function is continued along the real axis: it solves the
    hypergeometric equation (DLMF 15.10.1), so its Taylor series about any point follows from
    a three-term recurrence, summed over steps that close in on the singular point 1
    geometrically. Unlike the 1 - z connection formula (DLMF 15.8.4) this needs no special
    case when c - a - b is an integer. At z = 1 it is Gauss's sum (DLMF 15.4.20), if finite.

    Checked against high-precision values for parameters up to a few hundred: relative error
    below 1e-9 for 0 <= z < 1. For negative z with large parameters the value can be a tiny
    remainder of huge terms, and precision is lost. Raises OverflowError past float range.
    """
    value = _hyp2f1(a, b, c, z)
    if not math.isfinite(value):
        raise OverflowError("2F1 is beyond floating-point range here")
    return value


def _hyp2f1(a: float, b: float, c: float, z: float) -> float:
    if _is_non_positive_integer(c):
        raise ValueError("c must not be zero or a negative integer")
    if _is_non_positive_integer(a) or _is_non_positive_integer(b):
        return _series_or_fail(a, b, c, z)  # a polynomial
    if z > 1:
        raise ValueError("2F1 is real only for z <= 1 here")
    if z == 1:
        return _gauss_sum(a, b, c)
    if z < 0:
        if min(b, c - a) > min(a, c - b):
            a, b = b, a  # of the two Pfaff forms, the one whose series alternates less
        return (1.0 - z) ** (-a) * _hyp2f1(a, c - b, c, z / (z - 1.0))
    if z <= _SERIES_RADIUS:
        return _series_or_fail(a, b, c, z)
    quick = _maclaurin(a, b, c, z, _QUICK_TERMS)
    return quick if quick is not None else _continued(a, b, c, z)


_SERIES_RADIUS = 0.5
_MAX_TERMS = 200_000
_QUICK_TERMS = 2_000  # above z = 1/2, a series needing more is replaced by the continuation
_TINY = 1e-17
# Parameters this close to a pole of eq. 10 are moved off it (see _away_from_poles).
_POLE_GAP = 1e-6


def _histories(summaries: Iterable[CustomerSummary]) -> Counter[tuple[int, float, float]]:
    return Counter((s.frequency, s.recency, s.age) for s in summaries)


def _shared_terms(params: BgNbdParams, x: int) -> float:
    """The part of eq. 6's log that depends on x alone (shared by many customers)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    return (
        math.lgamma(r + x)
        - math.lgamma(r)
        + r * math.log(alpha)
        + math.lgamma(a + b)
        + math.lgamma(b + x)
        - math.lgamma(b)
        - math.lgamma(a + b + x)
    )


def _own_terms(params: BgNbdParams, x: int, t_x: float, T: float) -> float:
    """The log of eq. 6's bracket: (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x).

    Summed as logarithms (log-sum-exp), so neither power underflows for a frequent buyer.
    b + (x - 1) is added in that order: (b + x) - 1 loses b's digits when b is small.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    still_active = -(r + x) * math.log(alpha + T)
    if x == 0:
        return still_active
    dropped_out = math.log(a) - math.log(b + (x - 1)) - (r + x) * math.log(alpha + t_x)
    high, low = max(still_active, dropped_out), min(still_active, dropped_out)
    return high + math.log1p(math.exp(low - high))


def _check_history(x: int, t_x: float, T: float) -> None:
    if x < 0 or t_x < 0 or t_x > T:
        raise ValueError("need x >= 0 and 0 <= t_x <= T")


def _away_from_poles(f: Callable[[float], float], a: float, c_minus_a: float) -> float:
    """f(a), or its linear interpolation from either side where eq. 10 has a removable pole.

    Eq. 10 divides by a - 1, and its 2F1 needs c = a + b + x - 1 off the non-positive
    integers. Eq. 10 itself is smooth in a at both, so within _POLE_GAP of them it is
    interpolated between a -/+ 2 _POLE_GAP: off by O(gap^2), where the direct formula would
    lose most of its digits or divide by zero.
    """
    c = a + c_minus_a
    near_c = round(c) <= 0 and abs(c - round(c)) < _POLE_GAP
    if abs(a - 1.0) >= _POLE_GAP and not near_c:
        return f(a)
    low, high = a - 2 * _POLE_GAP, a + 2 * _POLE_GAP
    f_low, f_high = f(low), f(high)
    return f_low + (f_high - f_low) * (a - low) / (high - low)


def _is_non_positive_integer(v: float) -> bool:
    return v <= 0 and v == math.floor(v)


def _series_or_fail(a: float, b: float, c: float, z: float) -> float:
    total = _maclaurin(a, b, c, z, _MAX_TERMS)
    if total is None:
        raise ArithmeticError("2F1 series did not converge")
    return total


def _maclaurin(a: float, b: float, c: float, z: float, max_terms: int) -> float | None:
    """sum_n (a)_n (b)_n / ((c)_n n!) z^n, or None if `max_terms` do not reach its limit.

    It stops once the terms are past every sign change and the tail, bounded by a geometric
    series of the current term ratio (or |z|, their limit, if larger), no longer matters.
    """
    total, term = 1.0, 1.0
    settled = max(-a, -b, -c, 0.0)
    for n in range(max_terms):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        if term == 0.0:
            return total
        ratio = max(abs((a + n + 1) * (b + n + 1) / ((c + n + 1) * (n + 2)) * z), abs(z))
        tail = abs(term) * ratio / (1.0 - ratio) if ratio < 1.0 else math.inf
        if n >= settled and tail <= _TINY * abs(total):
            return total
    return None


def _continued(a: float, b: float, c: float, z: float) -> float:
    """2F1 at 1/2 < z < 1 by stepping Taylor series of the ODE out from z0 = 1/2.

    Each step covers at most half the distance to the singularity at 1, so the series
    converge like 2^-n. Rounding excites the equation's other solutions, which behave like
    z^(1-c) and (1-z)^(c-a-b); when those decay along the step, their Taylor terms alternate
    in sign and grow like (1 + step/distance)^exponent before cancelling, so the step is also
    kept below distance / exponent, which bounds the digits lost to that cancellation.
    """
    z0 = _SERIES_RADIUS
    value = _series_or_fail(a, b, c, z0)
    slope = a * b / c * _series_or_fail(a + 1.0, b + 1.0, c + 1.0, z0)  # DLMF 15.5.1
    from_one, from_zero = max(c - a - b, 0.0), max(c - 1.0, 0.0)
    while z0 < z:
        h = min(
            z - z0,
            0.5 * (1.0 - z0),
            (1.0 - z0) / (1.0 + from_one),
            z0 / (1.0 + from_zero),
        )
        # Step to a representable point, exactly: the next series is centred where this one
        # was summed to, and near 1 an error of one ulp in z0 is large relative to 1 - z0.
        h = (z0 + h) - z0
        value, slope = _taylor_step(a, b, c, z0, h, value, slope)
        z0 += h
    return value


def _taylor_step(
    a: float, b: float, c: float, z0: float, h: float, value: float, slope: float
) -> tuple[float, float]:
    """w(z0 + h) and w'(z0 + h) for the solution of z(1-z)w'' + (c-(a+b+1)z)w' - ab w = 0
    with w(z0) = value, w'(z0) = slope.

    With s = z - z0 the equation has polynomial coefficients in s, P w'' + Q w' + R w = 0,
    P = p0 + p1 s - s^2, Q = q0 + q1 s, R = -ab, so the Taylor coefficients w_n follow
    (n+1)(n+2) p0 w_{n+2} = -[(n+1)(n p1 + q0) w_{n+1} + (q1 n - n(n-1) - ab) w_n].
    They are carried as u_n = w_n h^n, which stay bounded where w_n alone would overflow.
    """
    p0, p1 = z0 * (1.0 - z0), 1.0 - 2.0 * z0
    q0, q1 = c - (a + b + 1.0) * z0, -(a + b + 1.0)
    u_prev, u_cur = value, slope * h
    total, total_slope = u_prev + u_cur, u_cur  # total_slope is h w'(z0 + h)
    small = 0
    for n in range(_MAX_TERMS):
        u_next = -(
            (n + 1) * (n * p1 + q0) * h * u_cur + (q1 * n - n * (n - 1) - a * b) * h * h * u_prev
        ) / ((n + 1) * (n + 2) * p0)
        total += u_next
        total_slope += (n + 2) * u_next
        scale = max(abs(total), abs(total_slope))
        small = small + 1 if (n + 2) * abs(u_next) <= _TINY * scale else 0
        if small == 3:
            return total, total_slope / h
        u_prev, u_cur = u_cur, u_next
    raise ArithmeticError("2F1 continuation did not converge")


def _gauss_sum(a: float, b: float, c: float) -> float:
    """2F1(a, b; c; 1) = G(c) G(c-a-b) / (G(c-a) G(c-b)), for c - a - b > 0."""
    if c - a - b <= 0:
        raise ValueError("2F1 diverges at z = 1 unless c - a - b > 0")
    if _is_non_positive_integer(c - a) or _is_non_positive_integer(c - b):
        return 0.0
    sign, log = 1.0, 0.0
    for v, power in ((c, 1), (c - a - b, 1), (c - a, -1), (c - b, -1)):
        sign *= _gamma_sign(v)
        log += power * math.lgamma(v)
    return sign * math.exp(log)


def _gamma_sign(v: float) -> float:
    return 1.0 if v > 0 or math.floor(v) % 2 == 0 else -1.0
