"""SES feedback: bounces and complaints come back through SNS and suppress the address.

The configuration set every email goes out through publishes its Bounce and Complaint events
to an encrypted topic; the feedback function, subscribed to it, records a suppression per
hard-bounced or complaining address (`comeback.services.feedback`).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from comeback.schema import DEAD_LETTER_RETENTION_DAYS
from comeback.settings import FeedbackSettings
from constructs import Construct

from infra.lambdas import ComebackFunction, FunctionDefaults, settings_environment
from infra.storage import Storage

FEEDBACK_EVENTS = (ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT)
# A notification is a write per recipient (usually one): anything near this is DynamoDB in
# trouble.
FEEDBACK_TIMEOUT_SECONDS = 30
KEY_DELETION_WINDOW_DAYS = 7
# What `Suppressions.suppress` does, and all the function does with the table.
TABLE_ACTIONS = ("dynamodb:UpdateItem",)
SES_PRINCIPAL = "ses.amazonaws.com"
# What a publisher needs of the key of an encrypted topic (SNS server-side encryption).
TOPIC_PUBLISHER_KEY_ACTIONS = ("kms:GenerateDataKey*", "kms:Decrypt")


class Feedback(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        configuration_set: ses.IConfigurationSet,
        storage: Storage,
        defaults: FunctionDefaults,
    ) -> None:
        super().__init__(scope, construct_id)
        # SNS's AWS managed key cannot be shared with SES (its policy is fixed), so the topic
        # gets its own key. SES may use it for this topic only in effect: the topic policy
        # lets SES publish just for this stack's configuration set.
        self.key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the Comeback SES feedback topic",
            enable_key_rotation=True,
            pending_window=Duration.days(KEY_DELETION_WINDOW_DAYS),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.key.grant(iam.ServicePrincipal(SES_PRINCIPAL), *TOPIC_PUBLISHER_KEY_ACTIONS)
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Comeback SES bounces and complaints",
            master_key=self.key,
            enforce_ssl=True,
        )
        # Adds the topic policy statement letting SES publish for this configuration set.
        self.event_destination = ses.ConfigurationSetEventDestination(
            self,
            "EventDestination",
            configuration_set=configuration_set,
            destination=ses.EventDestination.sns_topic(self.topic),
            events=list(FEEDBACK_EVENTS),
        )

        # Where a notification goes when it could not be applied (DynamoDB failing through
        # Lambda's retries) or not even delivered (SNS failing to invoke the function): kept
        # for redrive, with an alarm like the work queues' dead letters.
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            retention_period=Duration.days(DEAD_LETTER_RETENTION_DAYS),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.handler = ComebackFunction(
            self,
            "Handler",
            name="feedback",
            defaults=defaults,
            description="Suppresses addresses that hard-bounced or complained (SES via SNS)",
            timeout=Duration.seconds(FEEDBACK_TIMEOUT_SECONDS),
            environment=settings_environment(FeedbackSettings, **storage.table_names),
        )
        function = self.handler.function
        # NOTE: ComebackFunction takes no dead-letter queue, so it is set on the function's
        # CloudFormation resource: an asynchronous invocation that failed every retry lands
        # there with the SNS event as it was, ready to be invoked again.
        cfn_function = function.node.default_child
        if not isinstance(cfn_function, lambda_.CfnFunction):
            raise TypeError(f"{function.node.path} has no CloudFormation function resource")
        cfn_function.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=self.dead_letter_queue.queue_arn
        )
        self.dead_letter_queue.grant_send_messages(function)
        # Its one table operation: the conditional update that records a suppression. It reads
        # nothing, so it gets no read (let alone scan) of the other items in the main table.
        storage.table.grant(function, *TABLE_ACTIONS)
        function.add_event_source(
            event_sources.SnsEventSource(self.topic, dead_letter_queue=self.dead_letter_queue)
        )
