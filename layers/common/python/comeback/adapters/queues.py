"""Putting messages on SQS in batches, within SQS's limits, retrying what it refuses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from comeback.errors import TemporarilyUnavailable

MAX_ENTRIES_PER_CALL = 10
MAX_BYTES_PER_CALL = 256 * 1024
_ATTEMPTS = 3


class QueuePublisher:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def publish(self, bodies: Sequence[str]) -> None:
        """Put every body on the queue, or raise TemporarilyUnavailable (nothing is dropped)."""
        for chunk in _chunks(bodies):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
            for _ in range(_ATTEMPTS):
                response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
                failed = {f["Id"] for f in response.get("Failed", [])}
                entries = [e for e in entries if e["Id"] in failed]
                if not entries:
                    break
            if entries:
                raise TemporarilyUnavailable(f"queue refused {len(entries)} messages")


def _chunks(bodies: Sequence[str]) -> list[list[str]]:
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode("utf-8"))
        if current and (len(current) == MAX_ENTRIES_PER_CALL or size + length > MAX_BYTES_PER_CALL):
            chunks.append(current)
            current, size = [], 0
        current.append(body)
        size += length
    if current:
        chunks.append(current)
    return chunks
