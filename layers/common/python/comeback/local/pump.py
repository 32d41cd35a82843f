"""Feeding SQS messages to a function as Lambda's event source mapping does: batches of up to
ten, partial batch responses honoured, failed messages retried until the queue's redrive
policy moves them to the dead-letter queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from comeback.local.functions import LocalFunction

BATCH_SIZE = 10


@dataclass
class PumpResult:
    batches: int = 0
    succeeded: int = 0
    failed_attempts: int = 0


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


def drain(
    sqs: Any,
    queue_url: str,
    function: LocalFunction,
    *,
    max_batches: int = 100_000,
    result: PumpResult | None = None,
) -> PumpResult:
    """Run the function on the queue until it is empty."""
    result = result or PumpResult()
    queue_arn = _queue_arn(sqs, queue_url)
    for _ in range(max_batches):
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        result.batches += 1
        response = function.invoke({"Records": [_record(m, queue_arn) for m in messages]}) or {}
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        result.succeeded += len(done)
        for message in messages:
            if message["MessageId"] in failed:
                result.failed_attempts += 1
                # Let it come back at once instead of after the visibility timeout.
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
    return result


_arns: dict[str, str] = {}


def _queue_arn(sqs: Any, queue_url: str) -> str:
    if queue_url not in _arns:
        _arns[queue_url] = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
    return _arns[queue_url]
