"""RFM scores and segments: quintiles over a shop's own buyers, ties kept together."""

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from comeback.domain.value.rfm import SEGMENTS, Buyer, fit_cut_points, score, segment_of
from comeback.local.datasets import read_cdnow

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "CDNOW_sample.txt"
AS_OF = date(2024, 1, 31)


def test_ten_distinct_buyers_fall_two_to_each_score():
    buyers = [
        Buyer(AS_OF - timedelta(days=10 * n), orders=n + 1, revenue=100.0 * (n + 1))
        for n in range(10)
    ]
    cuts = fit_cut_points(buyers, AS_OF)
    scores = [score(b, cuts) for b in buyers]
    assert Counter(s.frequency for s in scores) == {k: 2 for k in range(1, 6)}
    assert Counter(s.monetary for s in scores) == {k: 2 for k in range(1, 6)}
    assert Counter(s.recency for s in scores) == {k: 2 for k in range(1, 6)}
    # The most recent buyer bought least: recent but not frequent.
    assert (scores[0].recency, scores[0].frequency) == (5, 1)
    assert (scores[-1].recency, scores[-1].frequency) == (1, 5)


def test_buyers_tied_on_a_value_share_one_score():
    buyers = [Buyer(AS_OF, orders=1, revenue=20.0) for _ in range(80)]
    buyers += [Buyer(AS_OF, orders=3, revenue=60.0) for _ in range(20)]
    cuts = fit_cut_points(buyers, AS_OF)
    assert {score(b, cuts).frequency for b in buyers[:80]} == {1}
    assert {score(b, cuts).frequency for b in buyers[80:]} == {5}


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 5, "champions"),
        (4, 3, 2, "loyal"),
        (5, 1, 1, "new"),
        (4, 2, 2, "potential_loyalists"),
        (3, 2, 1, "needs_attention"),
        (2, 4, 4, "at_risk"),
        (1, 5, 5, "cannot_lose"),
        (2, 1, 2, "hibernating"),
        (1, 1, 1, "lost"),
    ],
)
def test_named_segments(r, f, m, segment):
    assert segment_of(r, f, m) == segment


def test_every_score_has_a_known_segment():
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                assert segment_of(r, f, m) in SEGMENTS


def test_cdnow_sample_scores_are_monotonic_in_each_measure():
    as_of = date(1998, 6, 30)
    by_customer: dict[str, list] = {}
    for order in read_cdnow(SAMPLE):
        by_customer.setdefault(order.customer_id, []).append(order)
    buyers = [
        Buyer(max(o.day for o in rows), len(rows), float(sum(o.value for o in rows)))
        for rows in by_customer.values()
    ]
    assert len(buyers) == 2357
    cuts = fit_cut_points(buyers, as_of)
    scored = [(b, score(b, cuts)) for b in buyers]
    for measure, key in (
        ("frequency", lambda b: b.orders),
        ("monetary", lambda b: b.revenue),
        ("recency", lambda b: -(as_of - b.last_order_on).days),
    ):
        ordered = sorted(scored, key=lambda pair: key(pair[0]))
        values = [getattr(s, measure) for _, s in ordered]
        assert values == sorted(values), measure
        assert set(values) <= {1, 2, 3, 4, 5}
    # Half of CDNOW's customers bought once, so the lowest frequency band holds them all.
    once = [s for b, s in scored if b.orders == 1]
    assert len(once) > len(buyers) / 2 and {s.frequency for s in once} == {1}

    def mean_orders(segment: str) -> float:
        members = [b.orders for b, s in scored if s.segment == segment]
        return sum(members) / len(members)

    assert mean_orders("champions") > mean_orders("loyal") > mean_orders("lost")
    assert {s.recency for _, s in scored if s.segment == "lost"} == {1}


def test_no_buyers_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        fit_cut_points([], AS_OF)
