"""Events queue consumer: applies each accepted event to its profile, exactly once.

A failed record is reported back to SQS (partial batch response) and retried; after the
queue's maxReceiveCount it lands in the dead-letter queue, which raises an alarm."""

from collections.abc import Callable

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from comeback import wiring
from comeback.adapters.queues import QueuePublisher
from comeback.errors import NotFound
from comeback.jsonutil import dumps, loads
from comeback.models.events import AcceptedEvent
from comeback.models.jobs import MessageJob
from comeback.observability import logger, metrics
from comeback.services.processing import ReadAhead, process_event, read_ahead_for
from comeback.settings import ProcessorSettings, load

batch = BatchProcessor(event_type=EventType.SQS)
# The current batch's read-ahead: an instance handles one batch at a time.
_batch_reads: ReadAhead | None = None


def apply_record(record: SQSRecord) -> str:
    settings = load(ProcessorSettings)
    event = AcceptedEvent.model_validate(loads(record.body))
    shop = wiring.shop(settings, event.shop_id)
    if shop is None:
        raise NotFound(f"shop {event.shop_id} does not exist")  # retried, then dead-lettered
    outcome = process_event(
        wiring.store(settings),
        event,
        shop.settings,
        now=wiring.clock().now(),
        retention=settings.event_retention,
        read_ahead=_batch_reads,
        publish=_publisher(settings),
    )
    metrics.add_metric(name=f"Events{outcome.title()}", unit=MetricUnit.Count, value=1)
    logger.debug("event processed", shop_id=event.shop_id, outcome=outcome)
    return outcome


def _publisher(settings: ProcessorSettings) -> Callable[[MessageJob], None] | None:
    """Order-status messages go straight to the send queue (no sweep waits in between)."""
    if not settings.send_queue_url:
        return None
    queue = QueuePublisher(wiring.client("sqs"), settings.send_queue_url)
    return lambda job: queue.publish([dumps(job.model_dump())])


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    global _batch_reads
    store = wiring.store(load(ProcessorSettings))
    _batch_reads = read_ahead_for(store, [record["body"] for record in event["Records"]])
    try:
        return process_partial_response(
            event=event, record_handler=apply_record, processor=batch, context=context
        )
    finally:
        _batch_reads = None
