"""Acknowledging a cdk-nag finding on the narrowest construct it applies to, with its reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Record that `rule_id` (e.g. `AwsSolutions-APIG4`) is accepted, and why.

    An L2 construct's acknowledgment would also cover everything inside it (a function's
    event source mappings, a route's permissions), so it goes on the CloudFormation resource
    the finding is about.
    """
    target = scope.node.default_child or scope
    Validations.of(target).acknowledge(Acknowledgment(id=rule_id, reason=reason))
