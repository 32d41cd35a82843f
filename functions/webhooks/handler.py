"""Shop platforms' webhooks: POST /v1/webhooks/shopify and /v1/webhooks/woocommerce, with
`?shop=<shop_id>`. Verifies the platform's HMAC signature with the shop's webhook secret,
maps the payload to tracking events (onto the events queue) and catalogue products."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.catalogue import Catalogue
from comeback.adapters.queues import QueuePublisher
from comeback.domain.intake import IntakePolicy
from comeback.http import ApiRequest, guarded, json_response
from comeback.observability import logger, metrics
from comeback.services import webhooks
from comeback.settings import WebhookSettings, load


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(WebhookSettings)
    request = ApiRequest.from_event(event)
    platform = request.path.rstrip("/").rsplit("/", 1)[-1]

    def receive() -> dict:
        outcome = webhooks.receive(
            platform=platform,
            shop_id=request.query.get("shop"),
            headers=request.headers,
            body=request.body,
            shop_for=lambda shop_id: wiring.shop(settings, shop_id),
            secret_for=lambda shop_id, name: wiring.webhook_secret(
                settings.webhook_secret_arn, shop_id, name
            ),
            publisher=QueuePublisher(wiring.client("sqs"), settings.events_queue_url),
            catalogue=Catalogue(wiring.client("dynamodb"), settings.table_name),
            received_at=wiring.clock().now(),
            policy_for=lambda shop: IntakePolicy(phone_region=shop.settings.default_phone_region),
        )
        logger.info(
            "webhook received",
            platform=platform,
            shop_id=outcome.shop_id,
            topic=outcome.topic,
            accepted=outcome.accepted,
            rejected=outcome.rejected,
            products_changed=outcome.products_changed,
        )
        metrics.add_metric(
            name="WebhookEventsAccepted", unit=MetricUnit.Count, value=outcome.accepted
        )
        return json_response(outcome.status, outcome.body)

    return guarded(receive)
