"""SES feedback in the synthesized stack: the configuration set publishes bounces and
complaints to an encrypted topic, and the feedback function is subscribed to it.

One template for the module; resources are found through the stack's constructs, never by
hard-coded logical ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from comeback.schema import DEAD_LETTER_RETENTION_DAYS
from constructs import IConstruct
from infra_support import TEST_SENDER_DOMAIN, cdk_context

from infra.feedback import FEEDBACK_TIMEOUT_SECONDS
from infra.lambdas import SourcePaths
from infra.stack import ComebackStack

STACK_NAME = "ComebackFeedbackTest"
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Synth:
    stack: ComebackStack
    resources: dict[str, dict[str, Any]]

    def logical_id(self, construct: IConstruct) -> str:
        cfn = construct.node.default_child or construct
        return self.stack.get_logical_id(cfn)  # type: ignore[arg-type]

    def properties(self, construct: IConstruct) -> dict[str, Any]:
        return self.resources[self.logical_id(construct)]["Properties"]

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        return [r["Properties"] for r in self.resources.values() if r["Type"] == resource_type]


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def arn_of(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


@pytest.fixture(scope="module")
def synth(sources: SourcePaths, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    # Given the whole stack
    app = cdk.App(context=cdk_context(), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stack = ComebackStack(app, STACK_NAME, sender_domain=TEST_SENDER_DOMAIN, sources=sources)
    # When it is synthesized
    template = app.synth().get_stack_by_name(STACK_NAME).template
    return Synth(stack=stack, resources=template["Resources"])


def test_the_feedback_topic_is_encrypted_with_its_own_rotated_key(synth: Synth) -> None:
    feedback = synth.stack.feedback
    topic = synth.properties(feedback.topic)
    assert topic["KmsMasterKeyId"] == arn_of(synth.logical_id(feedback.key))
    key = synth.properties(feedback.key)
    assert key["EnableKeyRotation"] is True
    # And SES, the one publisher, may use the key to encrypt what it publishes
    ses_statements = [
        statement
        for statement in key["KeyPolicy"]["Statement"]
        if statement["Principal"] == {"Service": "ses.amazonaws.com"}
    ]
    (statement,) = ses_statements
    assert {"kms:GenerateDataKey*", "kms:Decrypt"} <= set(statement["Action"])


def _topic_policy_statements(synth: Synth) -> list[dict[str, Any]]:
    topic_ref = ref(synth.logical_id(synth.stack.feedback.topic))
    (policy,) = [p for p in synth.of_type("AWS::SNS::TopicPolicy") if p["Topics"] == [topic_ref]]
    return policy["PolicyDocument"]["Statement"]


def test_the_topic_refuses_plain_http(synth: Synth) -> None:
    statements = _topic_policy_statements(synth)
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_only_ses_may_publish_and_only_for_the_stacks_configuration_set(synth: Synth) -> None:
    (publish,) = [s for s in _topic_policy_statements(synth) if s["Effect"] == "Allow"]
    assert publish["Action"] == "sns:Publish"
    assert publish["Principal"] == {"Service": "ses.amazonaws.com"}
    conditions = json.dumps(publish["Condition"])
    assert "AWS:SourceAccount" in conditions
    assert "configuration-set/" in conditions
    configuration_set = synth.logical_id(synth.stack.messaging.configuration_set)
    assert json.dumps(ref(configuration_set)) in conditions


def test_the_configuration_set_publishes_bounces_and_complaints_to_the_topic(
    synth: Synth,
) -> None:
    (destination,) = synth.of_type("AWS::SES::ConfigurationSetEventDestination")
    configuration_set = synth.logical_id(synth.stack.messaging.configuration_set)
    assert destination["ConfigurationSetName"] == ref(configuration_set)
    event_destination = destination["EventDestination"]
    assert event_destination["Enabled"] is True
    # (CloudFormation spells SES event types in lower case)
    assert sorted(event_destination["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert event_destination["SnsDestination"] == {
        "TopicARN": ref(synth.logical_id(synth.stack.feedback.topic))
    }


def test_the_feedback_function_is_subscribed_with_a_dead_letter_queue(synth: Synth) -> None:
    feedback = synth.stack.feedback
    function_id = synth.logical_id(feedback.handler.function)
    topic_ref = ref(synth.logical_id(feedback.topic))
    subscriptions = [
        s for s in synth.of_type("AWS::SNS::Subscription") if s["TopicArn"] == topic_ref
    ]
    (subscription,) = subscriptions
    assert subscription["Protocol"] == "lambda"
    assert subscription["Endpoint"] == arn_of(function_id)
    # A delivery SNS could not make is kept, not dropped
    dead_letters = synth.logical_id(feedback.dead_letter_queue)
    assert subscription["RedrivePolicy"] == {"deadLetterTargetArn": arn_of(dead_letters)}
    # And SNS may invoke the function, from this topic only
    permissions = [
        p
        for p in synth.of_type("AWS::Lambda::Permission")
        if p["FunctionName"] == arn_of(function_id) and p["Principal"] == "sns.amazonaws.com"
    ]
    (permission,) = permissions
    assert permission["SourceArn"] == topic_ref


def test_a_notification_that_fails_every_retry_lands_in_the_dead_letter_queue(
    synth: Synth,
) -> None:
    feedback = synth.stack.feedback
    function = synth.properties(feedback.handler.function)
    dead_letters = synth.logical_id(feedback.dead_letter_queue)
    assert function["DeadLetterConfig"] == {"TargetArn": arn_of(dead_letters)}
    assert function["Timeout"] == FEEDBACK_TIMEOUT_SECONDS
    queue = synth.properties(feedback.dead_letter_queue)
    assert queue["MessageRetentionPeriod"] == DEAD_LETTER_RETENTION_DAYS * SECONDS_PER_DAY
    assert queue["SqsManagedSseEnabled"] is True
    # And the function's role may put the failed event there
    role_id = function["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in synth.of_type("AWS::IAM::Policy")
        if ref(role_id) in policy["Roles"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    assert any(
        "sqs:SendMessage" in s["Action"] and s["Resource"] == arn_of(dead_letters)
        for s in statements
    )


def test_the_dead_letter_queue_and_the_function_are_watched(synth: Synth) -> None:
    feedback = synth.stack.feedback
    watched = {
        json.dumps(alarm["Dimensions"][0]["Value"])
        for alarm in synth.of_type("AWS::CloudWatch::Alarm")
    }
    dead_letters = synth.logical_id(feedback.dead_letter_queue)
    assert json.dumps({"Fn::GetAtt": [dead_letters, "QueueName"]}) in watched
    assert json.dumps(ref(synth.logical_id(feedback.handler.function))) in watched
    assert synth.stack.functions["feedback"] is feedback.handler.function
