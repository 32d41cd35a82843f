"""Tracking API (Segment-compatible): POST /v1/track, /identify, /page, /screen, /group,
/alias, /batch; browser push: POST /v1/push/subscribe and /unsubscribe (tracking events too),
GET /v1/push/public-key. Authenticates the write key, validates, and puts accepted events on the
events queue before answering."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.queues import QueuePublisher
from comeback.domain.intake import IntakePolicy
from comeback.errors import NotFound
from comeback.http import ApiRequest, guarded, json_response
from comeback.observability import logger, metrics
from comeback.services import intake
from comeback.settings import IntakeSettings, load


def intake_policy(settings: IntakeSettings, shop_id: str) -> IntakePolicy:
    shop = wiring.shop(settings, shop_id)
    return IntakePolicy(
        phone_region=shop.settings.default_phone_region if shop else None,
        allow_loopback_push=settings.push_endpoints == "loopback",
        loopback_push_origin=settings.local_push_origin,
    )


def vapid_public_key(settings: IntakeSettings) -> str:
    keys = wiring.vapid_keys(settings.vapid_secret_arn)
    if keys is None:
        raise NotFound("browser push is not set up: run `comeback vapid-keys`")
    return keys.public_key


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(IntakeSettings)
    request = ApiRequest.from_event(event)

    if request.method == "GET":  # /v1/push/public-key
        return guarded(lambda: json_response(200, {"publicKey": vapid_public_key(settings)}))

    def accept() -> dict:
        outcome = intake.accept(
            call=request.path.rstrip("/").rsplit("/", 1)[-1],
            body=request.body,
            content_encoding=request.headers.get("content-encoding"),
            authorization=request.headers.get("authorization"),
            store=wiring.store(settings),
            publisher=QueuePublisher(wiring.client("sqs"), settings.events_queue_url),
            received_at=wiring.clock().now(),
            policy_for=lambda shop_id: intake_policy(settings, shop_id),
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
