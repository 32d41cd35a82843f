"""Invoking the real Lambda handlers in this process, the way Lambda would."""

from __future__ import annotations

import importlib.util
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comeback.observability import metrics

FUNCTION_NAMES = (
    "intake",
    "processor",
    "sweep",
    "sender",
    "unsubscribe",
    "feedback",
    "web",
    "webhooks",
    "valuation",
    "privacy",
    "reporting",
)


def functions_dir() -> Path:
    configured = os.environ.get("COMEBACK_FUNCTIONS_DIR")
    if configured:
        return Path(configured)
    # layers/common/python/comeback/local/functions.py -> the repository root
    return Path(__file__).resolve().parents[5] / "functions"


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class LocalFunction:
    """One function: its real handler, one invocation at a time (like one Lambda instance)."""

    def __init__(self, name: str) -> None:
        path = functions_dir() / name / "handler.py"
        spec = importlib.util.spec_from_file_location(f"comeback_function_{name}", path)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.name = name
        self._handler: Callable[[dict, Any], Any] = module.handler
        self._lock = threading.Lock()
        self.invocations = 0

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            self.invocations += 1
            try:
                return self._handler(event, LocalContext(function_name=f"comeback-{self.name}"))
            finally:
                # Powertools keeps metrics it was told not to publish; drop them per call.
                metrics.clear_metrics()
