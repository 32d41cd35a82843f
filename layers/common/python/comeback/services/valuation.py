"""The weekly value fit of one shop: read every buyer's order counters, fit RFM cut points and
the BG/NBD and Gamma-Gamma models, keep the fitted model, and score every buyer with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from comeback.adapters.valuations import Valuations
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
) -> ValuationResult:
    buyers = list(valuations.buyers(shop_id))
    if not buyers:
        return ValuationResult(shop_id, 0, 0, 0, False, "no customer has ordered yet")
    model = fit_shop([counters for _, _, counters in buyers], now)
    valuations.save_model(shop_id, model)
    scored = changed = 0
    for profile_id, version, counters in buyers:
        found = value_of(
            counters,
            model,
            now,
            horizon_weeks=horizon_weeks,
            discount_rate_per_week=discount_rate_per_week,
        )
        value = ProfileValue(
            scored_at=now,
            rfm=found.rfm,
            segment=found.segment,
            probability_alive=found.probability_alive,
            expected_purchases=found.expected_purchases,
            predicted_value=found.predicted_value,
        )
        if valuations.set_value(shop_id, profile_id, version, value):
            scored += 1
        else:
            changed += 1
    return ValuationResult(
        shop_id,
        len(buyers),
        scored,
        changed,
        fitted=model.bgnbd is not None,
        not_fitted_because=model.not_fitted_because,
    )
