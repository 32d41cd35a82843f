"""Feeding SQS messages to a function as Lambda's event source mapping does: batches of up to
ten, partial batch responses honoured, failed messages retried until the queue's redrive
policy moves them to the dead-letter queue."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
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
    sqs: Any, queue_url: str, instances: list[LocalFunction], *, max_batches: int = 100_000
) -> PumpResult:
    """Run the function on the queue until it is empty, with one poller per instance (Lambda
    runs several instances of a function at once; each handles one batch at a time)."""
    result = PumpResult()
    lock = threading.Lock()
    queue_arn = _queue_arn(sqs, queue_url)

    def poll(function: LocalFunction) -> None:
        for _ in range(max_batches):
            if not _one_batch(sqs, queue_url, queue_arn, function, result, lock):
                return

    while _one_batch(sqs, queue_url, queue_arn, instances[0], result, lock):
        # Work is waiting: the other instances join in until the queue runs dry.
        if len(instances) > 1:
            with ThreadPoolExecutor(max_workers=len(instances)) as pool:
                list(pool.map(poll, instances))
    return result


def _one_batch(
    sqs: Any,
    queue_url: str,
    queue_arn: str,
    function: LocalFunction,
    result: PumpResult,
    lock: threading.Lock,
) -> bool:
    messages = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=BATCH_SIZE,
        WaitTimeSeconds=0,
        AttributeNames=["All"],
    ).get("Messages", [])
    if not messages:
        return False
    try:
        response = function.invoke({"Records": [_record(m, queue_arn) for m in messages]}) or {}
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    except Exception:  # noqa: BLE001 - as Lambda does: an invocation error fails the batch
        failed = {m["MessageId"] for m in messages}
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
            ],
        )
    for message in messages:
        if message["MessageId"] in failed:
            # Let it come back at once instead of after the visibility timeout.
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    with lock:
        result.batches += 1
        result.succeeded += len(done)
        result.failed_attempts += len(messages) - len(done)
    return True


_arns: dict[str, str] = {}


def _queue_arn(sqs: Any, queue_url: str) -> str:
    if queue_url not in _arns:
        _arns[queue_url] = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
    return _arns[queue_url]
