"""The customer-value models against the results Fader, Hardie and Lee published for the CDNOW
sample, and against mathematical identities where no data is needed."""

import itertools
import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from comeback.domain.value import bgnbd, gamma_gamma
from comeback.domain.value.bgnbd import BgNbdParams, hyp2f1
from comeback.domain.value.gamma_gamma import GammaGammaParams
from comeback.domain.value.optimise import FitError, minimise, minimise_positive
from comeback.domain.value.summary import CustomerSummary, summarise
from comeback.local.datasets import read_cdnow

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "CDNOW_sample.txt"
CALIBRATION_END = date(1997, 9, 30)  # 39 weeks from 1997-01-01
PUBLISHED_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture(scope="module")
def cdnow() -> dict[str, CustomerSummary]:
    orders = read_cdnow(SAMPLE)
    return summarise([(o.customer_id, o.day, o.value) for o in orders], CALIBRATION_END)


@pytest.fixture(scope="module")
def fitted_bgnbd(cdnow) -> BgNbdParams:
    return bgnbd.fit(cdnow.values())


@pytest.fixture(scope="module")
def fitted_gg(cdnow) -> GammaGammaParams:
    return gamma_gamma.fit(cdnow.values())


# --- summaries -------------------------------------------------------------------------------


def test_the_cdnow_summary_matches_the_paper(cdnow):
    # Given the 2,357-customer sample, 946 of whom bought again within 39 weeks
    assert len(cdnow) == 2357
    assert sum(s.frequency > 0 for s in cdnow.values()) == 946
    # Then the paper's worked example is its first customer (id 4)
    first = cdnow["4"]
    assert first.frequency == 2
    assert round(first.recency, 2) == 30.43
    assert round(first.age, 2) == 38.86


def test_orders_on_one_day_are_one_purchase_and_the_first_is_not_a_repeat():
    day = date(2024, 1, 1)
    transactions = [
        ("c", day, Decimal("10")),
        ("c", date(2024, 1, 8), Decimal("5")),
        ("c", date(2024, 1, 8), 7.5),  # the same day: one occasion worth 12.50
        ("c", date(2024, 1, 22), Decimal("20")),
        ("c", date(2024, 2, 1), Decimal("99")),  # after the calibration end: ignored
        ("once", date(2024, 1, 15), Decimal("3")),
        ("later", date(2024, 2, 1), Decimal("3")),  # first bought after the end: absent
    ]
    summaries = summarise(transactions, date(2024, 1, 29))
    assert summaries["c"] == CustomerSummary(frequency=2, recency=3.0, age=4.0, monetary=16.25)
    assert summaries["once"] == CustomerSummary(frequency=0, recency=0.0, age=2.0, monetary=0.0)
    assert "later" not in summaries
    in_days = summarise(transactions, date(2024, 1, 29), unit_days=1.0)
    assert in_days["c"].recency == 21.0


# --- BG/NBD ----------------------------------------------------------------------------------


def test_bgnbd_fit_reproduces_the_published_parameters(fitted_bgnbd, cdnow):
    # Fader, Hardie and Lee (2005), "Counting your customers the easy way"
    assert round(fitted_bgnbd.r, 3) == 0.243
    assert round(fitted_bgnbd.alpha, 3) == 4.414
    assert round(fitted_bgnbd.a, 3) == 0.793
    assert round(fitted_bgnbd.b, 3) == 2.426
    assert round(bgnbd.total_log_likelihood(fitted_bgnbd, cdnow.values()), 1) == -9582.4


def test_bgnbd_conditional_expectation_of_the_papers_example(fitted_bgnbd):
    # x = 2, t_x = 30.43, T = 38.86: expected purchases over the next 39 weeks
    for params in (fitted_bgnbd, PUBLISHED_BGNBD):
        expected = bgnbd.conditional_expected_purchases(params, 39, 2, 30.43, 38.86)
        assert round(expected, 3) == 1.226


def test_a_customer_without_a_repeat_purchase_is_alive():
    for age in (0.0, 1.0, 38.86, 500.0):
        assert bgnbd.probability_alive(PUBLISHED_BGNBD, 0, 0.0, age) == 1.0


def test_a_longer_silence_makes_a_customer_less_likely_alive():
    p = PUBLISHED_BGNBD
    by_age = [bgnbd.probability_alive(p, 3, 10.0, age) for age in (10.0, 20.0, 40.0, 80.0)]
    assert by_age == sorted(by_age, reverse=True)
    assert 0 < by_age[-1] < by_age[0] <= 1
    # A thousand purchases then a long silence: tiny, not an overflow
    assert 0 <= bgnbd.probability_alive(p, 1000, 1.0, 1000.0) < 1e-300


def test_expected_purchases_grow_with_time():
    p = PUBLISHED_BGNBD
    assert bgnbd.expected_purchases(p, 0) == 0
    values = [bgnbd.expected_purchases(p, t) for t in (1, 10, 39, 78, 520, 1e6)]
    assert all(a < b for a, b in itertools.pairwise(values))
    conditional = [bgnbd.conditional_expected_purchases(p, t, 2, 30.43, 38.86) for t in (1, 39, 78)]
    assert conditional == sorted(conditional)


def test_expected_purchases_follow_equation_9_as_published():
    # Eq. 9 as printed, without the Euler transformation the module applies
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    for t in (5.0, 39.0, 200.0):
        z = t / (alpha + t)
        printed = (
            (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))
        )
        assert bgnbd.expected_purchases(PUBLISHED_BGNBD, t) == pytest.approx(printed, rel=1e-10)


def test_the_removable_poles_of_the_expectation_give_finite_continuous_values():
    # a = 1 divides eq. 10 by zero; a + b = 1 puts its 2F1 at c = 0 for a new customer
    near = [
        bgnbd.conditional_expected_purchases(BgNbdParams(0.5, 3.0, a, 2.0), 39, 3, 20, 38)
        for a in (1 - 1e-4, 1.0, 1 + 1e-4)
    ]
    assert near[0] > near[1] > near[2] > 0
    assert near[1] == pytest.approx((near[0] + near[2]) / 2, rel=1e-6)
    at_c_zero = bgnbd.expected_purchases(BgNbdParams(0.5, 3.0, 0.75, 0.25), 39)
    off = bgnbd.expected_purchases(BgNbdParams(0.5, 3.0, 0.75, 0.25 + 1e-4), 39)
    assert at_c_zero == pytest.approx(off, rel=1e-3)


def test_bgnbd_refuses_impossible_histories_and_a_shop_without_repeats():
    with pytest.raises(ValueError):
        bgnbd.probability_alive(PUBLISHED_BGNBD, 1, 5.0, 4.0)
    with pytest.raises(FitError):
        bgnbd.fit([CustomerSummary(0, 0.0, 10.0, 0.0)] * 5)


# --- the hypergeometric function -------------------------------------------------------------


@pytest.mark.parametrize("z", [-20.0, -0.5, 0.1, 0.5, 0.6, 0.9, 0.999, 1 - 1e-6, 1 - 1e-12])
def test_hyp2f1_gives_the_logarithm(z):
    # 2F1(1, 1; 2; z) = -ln(1 - z) / z, with c - a - b = 0, where connection formulas fail
    assert hyp2f1(1, 1, 2, z) == pytest.approx(-math.log1p(-z) / z, rel=1e-12)


@pytest.mark.parametrize("z", [-3.0, 0.3, 0.75, 0.99, 1 - 1e-9])
@pytest.mark.parametrize("a", [-1.7, 0.243, 2.5])
def test_hyp2f1_with_c_equal_to_b_is_a_power(a, z):
    # 2F1(a, b; b; z) = (1 - z)^-a
    assert hyp2f1(a, 3.3, 3.3, z) == pytest.approx((1 - z) ** -a, rel=1e-11)


@pytest.mark.parametrize("x", [0.2, 0.7, 0.95, 0.999999])
def test_hyp2f1_gives_the_inverse_trigonometric_functions(x):
    # 2F1(1/2, 1/2; 3/2; x^2) = arcsin(x) / x and 2F1(1/2, 1; 3/2; x^2) = artanh(x) / x
    assert hyp2f1(0.5, 0.5, 1.5, x * x) == pytest.approx(math.asin(x) / x, rel=1e-12)
    assert hyp2f1(0.5, 1, 1.5, x * x) == pytest.approx(math.atanh(x) / x, rel=1e-10)


def test_hyp2f1_reaches_gauss_sum_at_one():
    a, b, c = 0.4, 1.3, 3.9  # c - a - b = 2.2
    gauss = math.gamma(c) * math.gamma(c - a - b) / (math.gamma(c - a) * math.gamma(c - b))
    assert hyp2f1(a, b, c, 1.0) == pytest.approx(gauss, rel=1e-13)
    assert hyp2f1(a, b, c, 1 - 1e-10) == pytest.approx(gauss, rel=1e-9)


def test_hyp2f1_is_a_polynomial_for_a_negative_integer_parameter():
    b, c, z = 2.5, 1.5, 3.0  # beyond the radius of convergence, still finite
    expected = 1 - 2 * b * z / c + b * (b + 1) * z**2 / (c * (c + 1))
    assert hyp2f1(-2, b, c, z) == pytest.approx(expected, rel=1e-14)


def test_hyp2f1_refuses_undefined_arguments():
    for args in ((1, 1, 0, 0.5), (1, 1, -2, 0.5), (1, 1, 2, 1.5), (1, 1, 2, 1.0)):
        with pytest.raises(ValueError):
            hyp2f1(*args)


# --- Gamma-Gamma and lifetime value ----------------------------------------------------------


def test_gamma_gamma_fit_reproduces_the_published_parameters(fitted_gg):
    # Fader, Hardie and Lee (2005), "RFM and CLV: using iso-value curves"
    assert round(fitted_gg.p, 2) == 6.25
    assert round(fitted_gg.q, 2) == 3.74
    assert round(fitted_gg.gamma, 2) == 15.44


def test_expected_spend_moves_from_the_population_mean_to_the_customers_own():
    gg = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    population = gg.p * gg.gamma / (gg.q - 1)
    assert gamma_gamma.expected_average_spend(gg, 0, 0.0) == pytest.approx(population)
    spends = [gamma_gamma.expected_average_spend(gg, x, 100.0) for x in (1, 5, 50, 5000)]
    assert population < spends[0] < spends[1] < spends[2] < spends[3] < 100.0
    assert spends[3] == pytest.approx(100.0, rel=1e-3)


def test_lifetime_value_is_discounted_expected_purchases_times_expected_spend():
    gg = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    customer = CustomerSummary(frequency=2, recency=30.43, age=38.86, monetary=40.0)
    spend = gamma_gamma.expected_average_spend(gg, 2, 40.0)
    purchases = bgnbd.conditional_expected_purchases(PUBLISHED_BGNBD, 52, 2, 30.43, 38.86)
    undiscounted = gamma_gamma.lifetime_value(PUBLISHED_BGNBD, gg, customer, 52, 0.0)
    assert undiscounted == pytest.approx(spend * purchases, rel=1e-12)
    discounted = gamma_gamma.lifetime_value(PUBLISHED_BGNBD, gg, customer, 52, 0.002)
    assert spend * purchases / 1.002**52 < discounted < undiscounted
    assert gamma_gamma.lifetime_value(PUBLISHED_BGNBD, gg, customer, 0, 0.002) == 0.0
    in_days = CustomerSummary(frequency=2, recency=30.43 * 7, age=38.86 * 7, monetary=40.0)
    daily_bgnbd = BgNbdParams(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)
    same = gamma_gamma.lifetime_value(daily_bgnbd, gg, in_days, 52, 0.002, unit_days=1.0)
    assert same == pytest.approx(discounted, rel=1e-9)


def test_gamma_gamma_needs_repeat_buyers():
    with pytest.raises(FitError):
        gamma_gamma.fit([CustomerSummary(0, 0.0, 10.0, 0.0)])


# --- the minimiser ---------------------------------------------------------------------------


def test_the_minimiser_finds_the_rosenbrock_valley_floor():
    def rosenbrock(v):
        return (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2

    found = minimise(rosenbrock, [-1.2, 1.0], lower=[-5, -5], upper=[5, 5], step=0.5)
    assert found.x == pytest.approx((1.0, 1.0), abs=1e-6)
    assert found.value < 1e-12


def test_the_minimiser_stays_inside_its_bounds():
    seen = []

    def tilted(v):
        seen.append(v)
        return v[0] + (v[1] - 2) ** 2

    found = minimise(tilted, [0.5, 0.5], lower=[0, 0], upper=[1, 3])
    assert found.x == pytest.approx((0.0, 2.0), abs=1e-6)
    assert all(0 <= x <= 1 and 0 <= y <= 3 for x, y in seen)


def test_positive_minimisation_works_on_the_log_scale():
    def far_apart(v):
        return math.log(v[0] / 1e-3) ** 2 + math.log(v[1] / 1e4) ** 2

    found = minimise_positive(far_apart, [1.0, 1.0])
    assert found.x == pytest.approx((1e-3, 1e4), rel=1e-6)


def test_the_minimiser_gives_up_loudly():
    with pytest.raises(FitError):
        minimise(lambda v: v[0] ** 2, [3.0], lower=[-5], upper=[5], max_evaluations=5)


def test_alive_until_is_where_p_alive_crosses_the_threshold():
    params = PUBLISHED_BGNBD
    for x, t_x, threshold in ((2, 30.43, 0.5), (1, 5.0, 0.3), (7, 38.0, 0.8)):
        age = bgnbd.alive_until(params, x, t_x, threshold)
        assert age is not None and age >= t_x
        if age > t_x:
            assert bgnbd.probability_alive(params, x, t_x, age) == pytest.approx(threshold)
            assert bgnbd.probability_alive(params, x, t_x, age * 0.99 + t_x * 0.01) > threshold
    # Without a repeat purchase the model never says they left
    assert bgnbd.alive_until(params, 0, 0.0, 0.5) is None
    with pytest.raises(ValueError):
        bgnbd.alive_until(params, 2, 30.0, 1.5)
