"""The processor: applies accepted events from the events queue to profiles and journeys."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda_event_sources as event_sources
from comeback.settings import ProcessorSettings
from constructs import Construct

from infra.lambdas import ComebackFunction, FunctionDefaults, settings_environment
from infra.queues import WorkQueue, consumer_timeout
from infra.storage import Storage

BATCH_SIZE = 10
MAX_BATCHING_WINDOW_SECONDS = 1
# Leaves most of the account's concurrency to the intake during a burst of events: a throttled
# intake loses events, a slower processor only lets the queue grow.
MAX_CONCURRENCY = 10


class Processing(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        events: WorkQueue,
        send: WorkQueue,
        defaults: FunctionDefaults,
    ) -> None:
        super().__init__(scope, construct_id)
        self.processor = ComebackFunction(
            self,
            "Processor",
            name="processor",
            defaults=defaults,
            description="Applies accepted events to profiles, carts and journeys",
            timeout=consumer_timeout(events.spec),
            environment=settings_environment(
                ProcessorSettings, **storage.table_names, send_queue_url=send.queue.queue_url
            ),
        )
        # Queues order-status messages for the sender.
        send.queue.grant_send_messages(self.processor.function)
        # Applies events to profiles (main table) and sets or cancels their timers.
        storage.grant(storage.table, self.processor, write=True)
        storage.grant(storage.timers_table, self.processor, write=True)
        self.processor.function.add_event_source(
            event_sources.SqsEventSource(
                events.queue,
                batch_size=BATCH_SIZE,
                max_batching_window=Duration.seconds(MAX_BATCHING_WINDOW_SECONDS),
                max_concurrency=MAX_CONCURRENCY,
                report_batch_item_failures=True,
            )
        )
