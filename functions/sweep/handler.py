"""Scheduled sweep (EventBridge): claims due timers of one kind and queues message jobs.
Input: {"sweep": "cart_recovery"} or {"sweep": "reactivation"}."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.queues import QueuePublisher
from comeback.domain.timers import SWEEP_KINDS
from comeback.errors import InvalidInput
from comeback.observability import logger, metrics
from comeback.services.sweeping import sweep
from comeback.settings import SweepSettings, load


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(SweepSettings)
    kind = event.get("sweep")
    if kind not in SWEEP_KINDS:
        raise InvalidInput(f"unknown sweep {kind!r}; expected one of {SWEEP_KINDS}")
    result = sweep(
        wiring.store(settings),
        QueuePublisher(wiring.client("sqs"), settings.send_queue_url),
        kind,
        now=wiring.clock().now(),
        lease=settings.claim_lease,
        max_items=settings.max_items_per_run,
    )
    logger.info(
        "sweep finished", kind=kind, shops=result.shops, due=result.due, claimed=result.claimed
    )
    metrics.add_metric(name="TimersClaimed", unit=MetricUnit.Count, value=result.claimed)
    return {"sweep": kind, "shops": result.shops, "due": result.due, "claimed": result.claimed}
