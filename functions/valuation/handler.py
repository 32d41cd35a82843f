"""Scheduled value fit (EventBridge, weekly): for every shop, fit RFM cut points and the
BG/NBD and Gamma-Gamma models over its buyers and score each of them.
Input: {} for every shop, or {"shop_id": "..."} for one."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.valuations import Valuations
from comeback.domain.timers import TimerChange
from comeback.observability import logger, metrics
from comeback.services.valuation import revalue_shop
from comeback.settings import ValuationSettings, load


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(ValuationSettings)
    store = wiring.store(settings)
    valuations = Valuations(wiring.client("dynamodb"), settings.table_name)
    shop_ids = [event["shop_id"]] if event.get("shop_id") else store.list_shop_ids()
    results = []
    now = wiring.clock().now()
    for shop_id in shop_ids:
        shop = wiring.shop(settings, shop_id)
        threshold = shop.settings.reactivation_p_alive_below if shop else None

        def arm_winback(profile_id: str, change: TimerChange, shop_id: str = shop_id) -> None:
            store.apply_timers(shop_id, profile_id, [change], now)

        result = revalue_shop(
            valuations,
            shop_id,
            now,
            horizon_weeks=settings.value_horizon_weeks,
            discount_rate_per_week=settings.value_discount_rate_per_week,
            reactivate_below=threshold,
            arm_winback=arm_winback if threshold is not None else None,
        )
        logger.info(
            "shop valued",
            shop_id=shop_id,
            buyers=result.buyers,
            scored=result.scored,
            changed_meanwhile=result.changed_meanwhile,
            fitted=result.fitted,
            not_fitted_because=result.not_fitted_because,
        )
        metrics.add_metric(name="CustomersValued", unit=MetricUnit.Count, value=result.scored)
        results.append({"shop_id": shop_id, "buyers": result.buyers, "scored": result.scored})
    return {"shops": results}
