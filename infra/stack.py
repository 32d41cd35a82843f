"""The Comeback stack: every construct in `infra/`, wired together."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.api import Api
from infra.feedback import Feedback
from infra.lambdas import FunctionDefaults, SharedLayers, SourcePaths
from infra.messaging import Messaging, SigningKey, VapidSecret
from infra.monitoring import Monitoring
from infra.processing import Processing
from infra.queues import Queues
from infra.storage import Storage
from infra.sweeps import Sweeps
from infra.valuation import Valuation

# CDK context: where DMARC aggregate reports should go (default dmarc-reports@<senderDomain>).
DMARC_REPORT_ADDRESS_CONTEXT = "dmarcReportAddress"


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

        self.layers = SharedLayers(self, "Layers", sources=sources)
        self.storage = Storage(self, "Storage")
        self.queues = Queues(self, "Queues")
        self.signing_key = SigningKey(self, "SigningKey")
        self.vapid_key = VapidSecret(self, "VapidKey")
        defaults = FunctionDefaults(functions_dir=sources.functions_dir, layers=self.layers.all)

        self.processing = Processing(
            self,
            "Processing",
            storage=self.storage,
            events=self.queues.events,
            send=self.queues.send,
            defaults=defaults,
        )
        self.api = Api(
            self,
            "Api",
            storage=self.storage,
            events=self.queues.events,
            send=self.queues.send,
            signing_secret=self.signing_key.secret,
            vapid_secret=self.vapid_key.secret,
            defaults=defaults,
        )
        self.sweeps = Sweeps(
            self, "Sweeps", storage=self.storage, send=self.queues.send, defaults=defaults
        )
        self.valuation = Valuation(self, "Valuation", storage=self.storage, defaults=defaults)
        self.messaging = Messaging(
            self,
            "Messaging",
            sender_domain=sender_domain,
            storage=self.storage,
            send=self.queues.send,
            signing_secret=self.signing_key.secret,
            vapid_secret=self.vapid_key.secret,
            public_base_url=self.api.base_url,
            defaults=defaults,
            dmarc_report_address=self.node.try_get_context(DMARC_REPORT_ADDRESS_CONTEXT),
        )
        self.feedback = Feedback(
            self,
            "Feedback",
            configuration_set=self.messaging.configuration_set,
            storage=self.storage,
            defaults=defaults,
        )
        # By folder name under functions/.
        self.functions = {
            "intake": self.api.intake.function,
            "processor": self.processing.processor.function,
            "sweep": self.sweeps.sweep.function,
            "sender": self.messaging.sender.function,
            "unsubscribe": self.api.unsubscribe.function,
            "feedback": self.feedback.handler.function,
            "webhooks": self.api.webhooks.function,
            "web": self.api.web.function,
            "valuation": self.valuation.handler.function,
            "privacy": self.api.privacy.function,
            "reporting": self.api.reporting.function,
        }
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            dead_letter_queues={
                **{queue.spec.name: queue.dead_letter_queue for queue in self.queues.all},
                "feedback": self.feedback.dead_letter_queue,
            },
            functions=self.functions,
            events_queue=self.queues.events.queue,
            alarm_email=alarm_email,
        )
        self._add_outputs(sender_domain)

    def _add_outputs(self, sender_domain: str) -> None:
        CfnOutput(self, "ApiUrl", value=self.api.base_url, description="Base URL of the HTTP API")
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.monitoring.topic.topic_arn,
            description="Subscribe to this SNS topic to receive alarms",
        )
        CfnOutput(
            self,
            "TableName",
            value=self.storage.table.table_name,
            description="DynamoDB table of shops, profiles, events and send records",
        )
        CfnOutput(
            self,
            "TimersTableName",
            value=self.storage.timers_table.table_name,
            description="DynamoDB table of pending timers, with the due index",
        )
        CfnOutput(
            self,
            "VapidSecretArn",
            value=self.vapid_key.secret.secret_arn,
            description="Web push keys: fill once with `comeback vapid-keys --stack <name>`",
        )
        CfnOutput(
            self,
            "WebhookSecretArn",
            value=self.api.webhook_secret.secret_arn,
            description="Shops' webhook secrets: add with `comeback webhook-secret --stack <name>`",
        )
        CfnOutput(
            self,
            "SesConfigurationSet",
            value=self.messaging.configuration_set.configuration_set_name,
        )
        for name, record in self.messaging.dns_records.items():
            CfnOutput(
                self,
                f"DnsRecord{name}",
                value=str(record),
                description=f"DNS record to add for {sender_domain}: name, type, value",
            )
