"""SES feedback (SNS): bounces and complaints that SES publishes for our configuration set.

A hard bounce or a complaint suppresses that address for the shop the message was tagged
with, so email to it stops at once. An unreadable notification is logged, counted and
dropped; a failed write raises, so Lambda retries the invocation and then dead-letters it."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SNSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.suppressions import Suppressions
from comeback.observability import logger, metrics
from comeback.services.feedback import FeedbackResult, handle_notification
from comeback.settings import FeedbackSettings, load


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    settings = load(FeedbackSettings)
    suppressions = Suppressions(wiring.client("dynamodb"), settings.table_name)
    total = FeedbackResult()
    for record in SNSEvent(event).records:
        total.add(handle_notification(suppressions, record.sns.message, wiring.clock().now()))
    logger.info("feedback handled", **total.as_dict())
    for reason, count in total.suppressed.items():
        name = "Suppressions" + reason.title().replace("_", "")
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    if total.skipped:
        metrics.add_metric(name="FeedbackSkipped", unit=MetricUnit.Count, value=total.skipped)
    return total.as_dict()
