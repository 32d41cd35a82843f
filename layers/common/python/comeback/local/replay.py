"""Sending a day-by-day stream of tracking calls to the local API over HTTP, as a shop would."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from comeback.jsonutil import dumps

MAX_BATCH_MESSAGES = 100


@dataclass
class TrackingClient:
    api_url: str
    write_key: str
    use_gzip: bool = True
    accepted: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def send_batch(self, messages: list[dict[str, Any]], sent_at: str) -> None:
        for start in range(0, len(messages), MAX_BATCH_MESSAGES):
            chunk = messages[start : start + MAX_BATCH_MESSAGES]
            status, answer = self.post("/v1/batch", {"batch": chunk, "sentAt": sent_at})
            if status == 200:
                rejected = answer.get("rejected", [])
                self.accepted += len(chunk) - len(rejected)
                self.rejected += len(rejected)
                self.errors.extend(rejected[:5])
            else:
                self.rejected += len(chunk)
                self.errors.append({"status": status, **answer})

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = dumps(body).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Authorization": "Basic "
            + base64.b64encode(f"{self.write_key}:".encode()).decode("ascii"),
        }
        if self.use_gzip:
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        request = urllib.request.Request(  # noqa: S310 - the local API's own http URL
            self.api_url + path, data=data, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
