"""The work queues, each with its dead-letter queue, built from `comeback.schema`."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from comeback.schema import DEAD_LETTER_RETENTION_DAYS, EVENTS_QUEUE, SEND_QUEUE, QueueSpec
from constructs import Construct


class WorkQueue(Construct):
    """A queue whose messages move to a dead-letter queue after `max_receive_count` failures."""

    def __init__(self, scope: Construct, construct_id: str, *, spec: QueueSpec) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            retention_period=Duration.days(DEAD_LETTER_RETENTION_DAYS),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            visibility_timeout=Duration.seconds(spec.visibility_timeout_seconds),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=spec.max_receive_count
            ),
        )


class Queues(Construct):
    """Accepted events (intake to processor) and message jobs (sweep to sender)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.events = WorkQueue(self, "Events", spec=EVENTS_QUEUE)
        self.send = WorkQueue(self, "Send", spec=SEND_QUEUE)

    @property
    def all(self) -> tuple[WorkQueue, ...]:
        return (self.events, self.send)


# AWS's guidance for SQS event sources: the visibility timeout is at least six times the
# function timeout, so a batch retried after throttling is not handed to a second poller.
VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT = 6


def consumer_timeout(spec: QueueSpec) -> Duration:
    """The longest a function consuming this queue may run."""
    return Duration.seconds(
        spec.visibility_timeout_seconds // VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT
    )
