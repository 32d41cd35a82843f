"""Tracking API (Segment-compatible): POST /v1/track, /identify, /page, /screen, /group,
/alias, /batch. Authenticates the write key, validates, and puts accepted events on the
events queue before answering."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.queues import QueuePublisher
from comeback.http import ApiRequest, guarded, json_response
from comeback.observability import logger, metrics
from comeback.services import intake
from comeback.settings import IntakeSettings, load


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(IntakeSettings)
    request = ApiRequest.from_event(event)

    def accept() -> dict:
        outcome = intake.accept(
            call=request.path.rstrip("/").rsplit("/", 1)[-1],
            body=request.body,
            content_encoding=request.headers.get("content-encoding"),
            authorization=request.headers.get("authorization"),
            store=wiring.store(settings),
            publisher=QueuePublisher(wiring.client("sqs"), settings.events_queue_url),
            received_at=wiring.clock().now(),
        )
        logger.info(
            "events accepted",
            shop_id=outcome.shop_id,
            accepted=outcome.accepted,
            rejected=outcome.rejected,
        )
        metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=outcome.accepted)
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=outcome.rejected)
        return json_response(outcome.status, outcome.body)

    return guarded(accept)
