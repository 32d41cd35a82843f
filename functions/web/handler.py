"""The browser snippet's API: GET /v1/web/comeback.js (the snippet), /v1/web/sw.js (the service
worker code the shop's root file imports), /v1/web/config?writeKey= (the shop's public snippet
settings) and /v1/web/onsite?writeKey=&anonymousId= (the on-site message for a visitor). Reads
only; every answer is public (write key), so none carries personal data."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.http import ApiRequest, guarded, json_response
from comeback.observability import logger, metrics
from comeback.services import web
from comeback.settings import WebSettings, load

# The shop's settings may change: browsers and CDNs keep the answer this long.
CONFIG_CACHE_SECONDS = 60


def script_response(asset: web.Asset, cache_seconds: int) -> dict:
    return {
        "statusCode": 200,
        "headers": {
            "content-type": "application/javascript; charset=utf-8",
            "cache-control": f"public, max-age={cache_seconds}",
            "x-content-type-options": "nosniff",
        },
        "body": asset.text,
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(WebSettings)
    request = ApiRequest.from_event(event)
    name = request.path.rstrip("/").rsplit("/", 1)[-1]

    def answer() -> dict:
        if name in web.ASSETS:
            return script_response(web.asset(name), settings.asset_cache_seconds)
        store = wiring.store(settings)
        shop = web.shop_for_page(
            store, request.query.get("writeKey"), lambda shop_id: wiring.shop(settings, shop_id)
        )
        if name == "config":
            return json_response(
                200,
                web.public_config(shop),
                {"cache-control": f"public, max-age={CONFIG_CACHE_SECONDS}"},
            )
        message = web.onsite_message(
            store, shop, request.query.get("anonymousId"), wiring.clock().now()
        )
        logger.info("onsite decided", shop_id=shop.shop_id, kind=message and message["kind"])
        if message:
            metrics.add_metric(name="OnsiteMessagesOffered", unit=MetricUnit.Count, value=1)
        return json_response(200, {"message": message})

    return guarded(answer)
