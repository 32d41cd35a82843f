"""The whole product on this machine: embedded AWS, local API, functions and a clock."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from comeback import wiring
from comeback.adapters.store import Store
from comeback.clock import SimulatedClock
from comeback.domain.timers import SWEEP_KINDS
from comeback.local import aws
from comeback.local.api_server import LocalApi
from comeback.local.functions import FUNCTION_NAMES, LocalFunction
from comeback.local.pump import PumpResult, drain
from comeback.local.push_peer import PushPeer
from comeback.observability import logger
from comeback.settings import StoreSettings, load

# Queue consumers run this many instances at once, as Lambda scales a function out.
DEFAULT_CONCURRENCY = 3
QUEUE_CONSUMERS = ("processor", "sender")


@dataclass
class LocalStack:
    aws: aws.LocalAws
    api: LocalApi
    functions: dict[str, LocalFunction]
    clock: SimulatedClock | None
    _moto: Any = None
    # A real push service on 127.0.0.1 that decrypts what the sender posts (browsers' stand-in).
    push_peer: PushPeer | None = None
    pollers: dict[str, list[LocalFunction]] = field(default_factory=dict)
    sweeps: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        *,
        sender_domains: list[str],
        clock: SimulatedClock | None = None,
        api_port: int = 0,
        quiet: bool = True,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> LocalStack:
        moto = aws.MotoServer()
        aws.use_endpoint(moto.endpoint)
        provisioned = aws.provision(moto.endpoint, sender_domains=sender_domains)
        if quiet:
            os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
            logger.setLevel("WARNING")
        wiring.reset()
        load.cache_clear()
        if clock is not None:
            wiring.override(clock=clock)
        functions: dict[str, LocalFunction] = {}
        api = LocalApi(functions, port=api_port)
        push_peer = PushPeer.start(clock=clock.now if clock is not None else None)
        os.environ.update(aws.function_environment(provisioned, public_base_url=api.url))
        # Subscriptions are accepted for this push service only, not any local server.
        os.environ["COMEBACK_LOCAL_PUSH_ORIGIN"] = push_peer.origin
        functions.update({name: LocalFunction(name) for name in FUNCTION_NAMES})
        pollers = {
            name: [functions[name]] + [LocalFunction(name) for _ in range(concurrency - 1)]
            for name in QUEUE_CONSUMERS
        }
        api.start()
        return cls(
            aws=provisioned,
            api=api,
            functions=functions,
            clock=clock,
            _moto=moto,
            pollers=pollers,
            push_peer=push_peer,
        )

    def stop(self) -> None:
        self.api.stop()
        if self.push_peer is not None:
            self.push_peer.stop()
        if self._moto is not None:
            self._moto.stop()
        wiring.reset()

    def store(self) -> Store:
        return wiring.store(load(StoreSettings))

    def process_events(self) -> PumpResult:
        return drain(wiring.client("sqs"), self.aws.events_queue_url, self.pollers["processor"])

    def run_sweeps(self) -> dict[str, dict[str, Any]]:
        """What EventBridge does on schedule in AWS (moto never fires schedules)."""
        results = {}
        for kind in SWEEP_KINDS:
            result = self.functions["sweep"].invoke({"sweep": kind})
            results[kind] = result
            totals = self.sweeps.setdefault(kind, {"due": 0, "claimed": 0, "runs": 0})
            totals["due"] += result["due"]
            totals["claimed"] += result["claimed"]
            totals["runs"] += 1
        return results

    def send_messages(self) -> PumpResult:
        return drain(wiring.client("sqs"), self.aws.send_queue_url, self.pollers["sender"])

    def tick(self, moment: datetime | None = None) -> None:
        """Advance the clock, then let everything that is due happen."""
        if moment is not None and self.clock is not None:
            self.clock.set(moment)
        self.process_events()
        self.run_sweeps()
        self.send_messages()

    def dead_letters(self) -> dict[str, int]:
        sqs = wiring.client("sqs")
        counts = {}
        for name, url in (("events", self.aws.events_dlq_url), ("send", self.aws.send_dlq_url)):
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            counts[name] = int(attributes["ApproximateNumberOfMessages"])
        return counts
