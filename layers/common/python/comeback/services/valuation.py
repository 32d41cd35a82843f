"""The weekly value fit of one shop: read every buyer's order counters, fit RFM cut points and
the BG/NBD and Gamma-Gamma models, keep the fitted model, and score every buyer with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from comeback.adapters.valuations import Valuations
from comeback.clock import iso
from comeback.domain.timers import REACTIVATION, TimerChange, winback_due
from comeback.domain.value.scoring import fit_shop, value_of
from comeback.models.profile import ProfileValue


@dataclass(frozen=True)
class ValuationResult:
    shop_id: str
    buyers: int
    scored: int
    # Profiles that changed between the read and the write: scored again next run.
    changed_meanwhile: int
    fitted: bool
    not_fitted_because: str | None = None


def revalue_shop(
    valuations: Valuations,
    shop_id: str,
    now: datetime,
    *,
    horizon_weeks: int,
    discount_rate_per_week: float,
    reactivate_below: float | None = None,
    arm_winback: Callable[[str, TimerChange], None] | None = None,
) -> ValuationResult:
    """Fit and score one shop. With `reactivate_below` (the shop's P(alive) win-back rule),
    each repeat buyer's win-back timer is moved to when their P(alive) falls below it."""
    buyers = list(valuations.buyers(shop_id))
    if not buyers:
        return ValuationResult(shop_id, 0, 0, 0, False, "no customer has ordered yet")
    model = fit_shop([b.orders for b in buyers], now)
    valuations.save_model(shop_id, model)
    scored = changed = 0
    for buyer in buyers:
        found = value_of(
            buyer.orders,
            model,
            now,
            horizon_weeks=horizon_weeks,
            discount_rate_per_week=discount_rate_per_week,
            reactivate_below=reactivate_below,
        )
        value = ProfileValue(
            scored_at=now,
            rfm=found.rfm,
            segment=found.segment,
            probability_alive=found.probability_alive,
            expected_purchases=found.expected_purchases,
            predicted_value=found.predicted_value,
            reactivate_at=found.reactivate_at,
            purchases_per_year=found.purchases_per_year,
        )
        if not valuations.set_value(shop_id, buyer.profile_id, buyer.version, value):
            changed += 1
            continue
        scored += 1
        if arm_winback is not None and found.reactivate_at is not None:
            due = winback_due(found.reactivate_at, buyer.last_activity_at)
            arm_winback(
                buyer.profile_id, TimerChange(REACTIVATION, due, iso(buyer.last_activity_at))
            )
    return ValuationResult(
        shop_id,
        len(buyers),
        scored,
        changed,
        fitted=model.bgnbd is not None,
        not_fitted_because=model.not_fitted_because,
    )
