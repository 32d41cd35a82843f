"""Signed links in messages. Unsubscribe: GET shows a confirmation page (link scanners must not
unsubscribe anyone), POST unsubscribes at once with no login (RFC 8058 one-click). Click
tracking: GET /v1/click records the click and redirects to the signed target. Restore-cart:
GET /v1/cart shows the cart a signed, expiring link names (docs/restore-cart.md)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.errors import ComebackError
from comeback.http import (
    ApiRequest,
    error_status,
    guarded,
    html_response,
    redirect_response,
)
from comeback.observability import logger, metrics
from comeback.services import cart_restore, clicks, unsubscribing
from comeback.settings import UnsubscribeSettings, load
from comeback.web import pages


def _follow_click(settings: UnsubscribeSettings, token: str | None) -> dict:
    def answer() -> dict:
        key = wiring.signing_key(settings.signing_secret_arn)
        claim = clicks.follow(wiring.store(settings), token, key, wiring.clock().now())
        logger.info("link clicked", shop_id=claim.shop_id, channel=claim.channel)
        metrics.add_metric(name="LinkClicks", unit=MetricUnit.Count, value=1)
        return redirect_response(claim.url)

    def refuse(error: ComebackError) -> dict:
        return html_response(error_status(error), pages.problem(str(error)))

    return guarded(answer, on_error=refuse)


def _restore_cart(settings: UnsubscribeSettings, token: str | None) -> dict:
    def answer() -> dict:
        key = wiring.signing_key(settings.signing_secret_arn)
        store = wiring.store(settings)
        status, page = cart_restore.restore_page(store, token, key, wiring.clock().now())
        logger.info("cart link opened", status=status)
        metrics.add_metric(name="CartLinksOpened", unit=MetricUnit.Count, value=1)
        return html_response(status, page, images=status == 200)

    def refuse(error: ComebackError) -> dict:
        return html_response(error_status(error), pages.problem(str(error)))

    return guarded(answer, on_error=refuse)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(UnsubscribeSettings)
    request = ApiRequest.from_event(event)
    token = request.query.get("t") or request.form().get("t")
    if request.path.rstrip("/").endswith("/click"):
        return _follow_click(settings, token)
    if request.path.rstrip("/").endswith("/cart"):
        return _restore_cart(settings, token)

    def answer() -> dict:
        claim = unsubscribing.check_token(token, wiring.signing_key(settings.signing_secret_arn))
        if request.method != "POST":
            return html_response(200, pages.confirm_unsubscribe(token or ""))
        unsubscribing.unsubscribe(wiring.store(settings), claim, wiring.clock().now())
        logger.info("unsubscribed", shop_id=claim.shop_id, channel=claim.channel)
        metrics.add_metric(name="Unsubscribes", unit=MetricUnit.Count, value=1)
        return html_response(200, pages.unsubscribed())

    def refuse(error: ComebackError) -> dict:
        return html_response(error_status(error), pages.problem(str(error)))

    return guarded(answer, on_error=refuse)
