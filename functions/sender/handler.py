"""Send queue consumer: re-checks consent and state at send time, sends the email through SES
and records it. Partial batch responses: one failed job does not re-send the others."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.email import TransientSendError
from comeback.jsonutil import loads
from comeback.models.jobs import MessageJob
from comeback.observability import logger, metrics
from comeback.services.sending import deliver, retry_delay
from comeback.settings import SenderSettings, load

batch = BatchProcessor(event_type=EventType.SQS)


def deliver_record(record: SQSRecord) -> str:
    settings = load(SenderSettings)
    job = MessageJob.model_validate(loads(record.body))
    now = wiring.clock().now()
    try:
        outcome = deliver(
            wiring.sender_context(settings), job, wiring.shop(settings, job.shop_id), now
        )
    except TransientSendError as exc:
        # Come back no sooner than the provider asked (push Retry-After), else back off
        # exponentially with the number of attempts (SES throttling).
        attempts = int(record.attributes.approximate_receive_count or 1)
        delay = retry_delay(exc, now, attempts)
        if settings.send_queue_url:
            wiring.client("sqs").change_message_visibility(
                QueueUrl=settings.send_queue_url,
                ReceiptHandle=record.receipt_handle,
                VisibilityTimeout=delay,
            )
        logger.info("job retried later", shop_id=job.shop_id, kind=job.kind, delay=delay)
        metrics.add_metric(name="MessagesRetried", unit=MetricUnit.Count, value=1)
        raise
    logger.info("job delivered", shop_id=job.shop_id, kind=job.kind, outcome=outcome)
    metric = "MessagesSent" if outcome == "sent" else "MessagesNotSent"
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return outcome


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event, record_handler=deliver_record, processor=batch, context=context
    )
