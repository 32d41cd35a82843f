"""The weekly value fit: RFM, BG/NBD and Gamma-Gamma over each shop's buyers, scores written
to their profiles (services.valuation)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from comeback.settings import ValuationSettings
from constructs import Construct

from infra.lambdas import ComebackFunction, FunctionDefaults, settings_environment
from infra.storage import Storage

# Monday 03:00 UTC: the quietest hour for most shops, after a full week of orders.
SCHEDULE = events.Schedule.cron(week_day="MON", hour="3", minute="0")
# The fit is pure Python (no numeric layer): about 12 s of CPU for 23,570 customers
# (docs/benchmarks.md), then one conditional write per buyer. More memory = more CPU on Lambda.
TIMEOUT_MINUTES = 15
MEMORY_MB = 1769  # one full vCPU


class Valuation(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, storage: Storage, defaults: FunctionDefaults
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = ComebackFunction(
            self,
            "Valuation",
            name="valuation",
            defaults=defaults,
            description="Weekly value fit: RFM segments, P(alive) and predicted value per buyer",
            timeout=Duration.minutes(TIMEOUT_MINUTES),
            memory_size=MEMORY_MB,
            environment=settings_environment(ValuationSettings, **storage.table_names),
            # Next week's run is the retry; scores written so far stay valid meanwhile.
            retry_attempts=0,
        )
        # Scans the shop's profiles and writes the scores back (conditional on their version).
        storage.grant(storage.table, self.handler, write=True)
        self.rule = events.Rule(
            self,
            "Schedule",
            description="Runs the value fit every Monday at 03:00 UTC",
            schedule=SCHEDULE,
            targets=[targets.LambdaFunction(self.handler.function)],
        )
