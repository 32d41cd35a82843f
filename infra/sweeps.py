"""The sweep: scheduled runs that claim what is due and put message jobs on the send queue."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from comeback.domain.alerts import ALERT_KINDS
from comeback.domain.timers import BROWSE_ABANDONMENT, CART_RECOVERY, REACTIVATION, SWEEP_KINDS
from comeback.settings import SweepSettings
from constructs import Construct

from infra.lambdas import ComebackFunction, FunctionDefaults, settings_environment
from infra.queues import WorkQueue
from infra.storage import Storage

# The sweep handler reads `event[SWEEP_EVENT_KEY]` to know which sweep kind to run.
SWEEP_EVENT_KEY = "sweep"


@dataclass(frozen=True)
class Sweep:
    name: str
    every_minutes: int


# One schedule per sweep kind the handler knows (comeback.domain.timers.SWEEP_KINDS).
SWEEPS: tuple[Sweep, ...] = (
    Sweep(name=CART_RECOVERY, every_minutes=5),
    Sweep(name=BROWSE_ABANDONMENT, every_minutes=15),
    Sweep(name=REACTIVATION, every_minutes=60),
    # Product alerts held back over someone's quiet hours go out soon after they end.
    *(Sweep(name=kind, every_minutes=15) for kind in ALERT_KINDS),
)

# Shorter than the most frequent schedule, so one run ends before the next begins.
SWEEP_TIMEOUT_MINUTES = 2


def _construct_id(sweep_name: str) -> str:
    return "".join(part.capitalize() for part in sweep_name.split("_"))


class Sweeps(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        send: WorkQueue,
        defaults: FunctionDefaults,
    ) -> None:
        super().__init__(scope, construct_id)
        if unscheduled := sorted(set(SWEEP_KINDS) - {sweep.name for sweep in SWEEPS}):
            raise ValueError(f"Sweep kinds with no schedule in infra/sweeps.py: {unscheduled}")
        self.sweep = ComebackFunction(
            self,
            "Sweep",
            name="sweep",
            defaults=defaults,
            description="Claims due timers and queues the message jobs",
            timeout=Duration.minutes(SWEEP_TIMEOUT_MINUTES),
            environment=settings_environment(
                SweepSettings, **storage.table_names, send_queue_url=send.queue.queue_url
            ),
            # The schedule is the retry: an immediate retry would only overlap the next run, and
            # claims are conditional writes, so nothing due is lost when a run fails.
            retry_attempts=0,
        )
        # Reads shops and profiles; queries the due index and claims timers (conditional writes).
        storage.grant(storage.table, self.sweep)
        storage.grant(storage.timers_table, self.sweep, write=True)
        send.queue.grant_send_messages(self.sweep.function)

        self.rules = [
            events.Rule(
                self,
                f"{_construct_id(sweep.name)}Schedule",
                description=f"Runs the {sweep.name} sweep every {sweep.every_minutes} minutes",
                schedule=events.Schedule.rate(Duration.minutes(sweep.every_minutes)),
                targets=[
                    targets.LambdaFunction(
                        self.sweep.function,
                        event=events.RuleTargetInput.from_object({SWEEP_EVENT_KEY: sweep.name}),
                    )
                ],
            )
            for sweep in SWEEPS
        ]
