"""Alarms on what needs a person: dead letters, function errors, a growing events backlog."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.lambdas import POWERTOOLS_ENVIRONMENT

ALARM_PERIOD_MINUTES = 5
# One dead letter is already a message that failed every retry.
DEAD_LETTER_THRESHOLD = 1
FUNCTION_ERROR_THRESHOLD = 1
# Events wait this long at most in normal running: the processor drains a batch in seconds.
EVENTS_BACKLOG_MAX_AGE_MINUTES = 15
KEY_DELETION_WINDOW_DAYS = 7


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        functions: Mapping[str, lambda_.IFunction],
        events_queue: sqs.IQueue,
        alarm_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # SNS's AWS managed key does not let CloudWatch publish to an encrypted topic, so the
        # topic gets its own key whose policy does.
        self.key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the Comeback alarm topic",
            enable_key_rotation=True,
            pending_window=Duration.days(KEY_DELETION_WINDOW_DAYS),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="Comeback alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        period = Duration.minutes(ALARM_PERIOD_MINUTES)
        self.alarms: list[cloudwatch.Alarm] = []
        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name.capitalize()}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(
                    period=period, statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=DEAD_LETTER_THRESHOLD,
                description=f"Messages in the {name} dead-letter queue: inspect and redrive them",
            )
        for name, function in functions.items():
            self._alarm(
                f"{name.capitalize()}Errors",
                function.metric_errors(period=period, statistic=cloudwatch.Stats.SUM),
                threshold=FUNCTION_ERROR_THRESHOLD,
                description=f"The {name} function failed: see its logs",
            )
        # Raised by the sender (comeback.wiring) when a push service refuses our VAPID token.
        self._alarm(
            "PushUnauthorised",
            cloudwatch.Metric(
                namespace=POWERTOOLS_ENVIRONMENT["POWERTOOLS_METRICS_NAMESPACE"],
                metric_name="PushUnauthorised",
                dimensions_map={"service": POWERTOOLS_ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]},
                period=period,
                statistic=cloudwatch.Stats.SUM,
            ),
            threshold=1,
            description="A push service answered 401/403 to our VAPID token: check the key pair",
        )
        self._alarm(
            "EventsBacklog",
            events_queue.metric_approximate_age_of_oldest_message(
                period=period, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=Duration.minutes(EVENTS_BACKLOG_MAX_AGE_MINUTES).to_seconds(),
            description="Accepted events wait too long for the processor",
        )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, *, threshold: float, description: str
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        action = cloudwatch_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms.append(alarm)
