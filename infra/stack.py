"""The Comeback stack: every construct in `infra/`, wired together."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.api import Api
from infra.lambdas import FunctionDefaults, SharedLayers, SourcePaths
from infra.messaging import Messaging, SigningKey
from infra.monitoring import Monitoring
from infra.processing import Processing
from infra.queues import Queues
from infra.storage import Storage
from infra.sweeps import Sweeps


class ComebackStack(Stack):
    """Environment-agnostic: nothing here looks anything up in an account."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sender_domain: str,
        alarm_email: str | None = None,
        sources: SourcePaths | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        sources = sources or SourcePaths()

        layers = SharedLayers(self, "Layers", sources=sources)
        storage = Storage(self, "Storage")
        queues = Queues(self, "Queues")
        signing_key = SigningKey(self, "SigningKey")
        defaults = FunctionDefaults(functions_dir=sources.functions_dir, layers=layers.all)

        processing = Processing(
            self, "Processing", table=storage.table, events=queues.events, defaults=defaults
        )
        api = Api(
            self,
            "Api",
            table=storage.table,
            events=queues.events,
            signing_secret=signing_key.secret,
            defaults=defaults,
        )
        sweeps = Sweeps(self, "Sweeps", table=storage.table, send=queues.send, defaults=defaults)
        messaging = Messaging(
            self,
            "Messaging",
            sender_domain=sender_domain,
            table=storage.table,
            send=queues.send,
            signing_secret=signing_key.secret,
            public_base_url=api.base_url,
            defaults=defaults,
        )
        # By folder name under functions/.
        self.functions = {
            "intake": api.intake.function,
            "processor": processing.processor.function,
            "sweep": sweeps.sweep.function,
            "sender": messaging.sender.function,
            "unsubscribe": api.unsubscribe.function,
        }
        monitoring = Monitoring(
            self,
            "Monitoring",
            dead_letter_queues={queue.spec.name: queue.dead_letter_queue for queue in queues.all},
            functions=self.functions,
            events_queue=queues.events.queue,
            alarm_email=alarm_email,
        )

        CfnOutput(self, "ApiUrl", value=api.base_url, description="Base URL of the HTTP API")
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=monitoring.topic.topic_arn,
            description="Subscribe to this SNS topic to receive alarms",
        )
        CfnOutput(self, "TableName", value=storage.table.table_name)
        CfnOutput(
            self,
            "SesConfigurationSet",
            value=messaging.configuration_set.configuration_set_name,
        )
        for name, record in messaging.dns_records.items():
            CfnOutput(
                self,
                f"DnsRecord{name}",
                value=str(record),
                description=f"DNS record to add for {sender_domain}: name, type, value",
            )
