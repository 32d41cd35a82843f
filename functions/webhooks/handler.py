"""What shops report from their platforms and backends:

- POST /v1/webhooks/shopify and /v1/webhooks/woocommerce, with `?shop=<shop_id>`: verifies the
  platform's HMAC signature with the shop's webhook secret, maps the payload to tracking events
  (onto the events queue) and catalogue products;
- POST /v1/products: the shop's backend reports products (its secret key only);
- GET and PATCH /v1/settings: the shop reads and changes its settings (its secret key only).

A product change worth it alerts the product's watchers (message jobs onto the send queue)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.catalogue import Catalogue
from comeback.adapters.queues import QueuePublisher
from comeback.adapters.shop_records import ShopRecords
from comeback.adapters.watchers import Watchers
from comeback.domain.intake import IntakePolicy
from comeback.http import ApiRequest, guarded, json_response
from comeback.observability import logger, metrics
from comeback.services import alerts, products, shop_settings, webhooks
from comeback.settings import WebhookSettings, load


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(WebhookSettings)
    request = ApiRequest.from_event(event)
    platform = request.path.rstrip("/").rsplit("/", 1)[-1]
    catalogue = Catalogue(wiring.client("dynamodb"), settings.table_name)
    watchers = Watchers(wiring.client("dynamodb"), settings.table_name)
    send_queue = QueuePublisher(wiring.client("sqs"), settings.send_queue_url)
    now = wiring.clock().now()

    def save_products(shop, items) -> int:
        outcome = alerts.save_products(
            shop=shop,
            products=items,
            catalogue=catalogue,
            watchers=watchers,
            publisher=send_queue,
            now=now,
        )
        metrics.add_metric(name="ProductAlertsQueued", unit=MetricUnit.Count, value=outcome.queued)
        return outcome.changed

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
            catalogue=catalogue,
            received_at=now,
            policy_for=lambda shop: IntakePolicy(phone_region=shop.settings.default_phone_region),
            save_products=save_products,
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

    def receive_products() -> dict:
        shop_id, outcome, count = products.receive(
            body=request.body,
            authorization=request.headers.get("authorization"),
            store=wiring.store(settings),
            shop_for=lambda shop_id: wiring.shop(settings, shop_id),
            catalogue=catalogue,
            watchers=watchers,
            publisher=send_queue,
            received_at=now,
        )
        logger.info(
            "products received",
            shop_id=shop_id,
            products=count,
            changed=outcome.changed,
            alerts=outcome.alerts,
            alerts_queued=outcome.queued,
        )
        metrics.add_metric(name="ProductAlertsQueued", unit=MetricUnit.Count, value=outcome.queued)
        body = {
            "success": True,
            "products": count,
            "changed": outcome.changed,
            "alerts_queued": outcome.queued,
        }
        return json_response(200, body)

    def serve_settings() -> dict:
        answer = shop_settings.serve(
            method=request.method,
            query=request.query,
            body=request.body,
            authorization=request.headers.get("authorization"),
            store=wiring.store(settings),
            records=ShopRecords(wiring.client("dynamodb"), settings.table_name),
            now=now,
        )
        # The names of the settings changed, never their values.
        logger.info(
            "settings read" if request.method == "GET" else "settings changed",
            shop_id=answer.shop_id,
            changed=list(answer.changed),
        )
        body = {"success": True, "settings": answer.settings}
        if request.method == "PATCH":
            body["changed"] = list(answer.changed)
        return json_response(200, body)

    routes = {"products": receive_products, "settings": serve_settings}
    return guarded(routes.get(platform, receive))
