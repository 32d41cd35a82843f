"""cdk-nag's AWS Solutions checks pass on the app, with only reviewed acknowledgments.

The app is built exactly as `app.py` builds it for the CLI (plugin included), so a finding
that is neither fixed nor acknowledged fails this test as it would fail `cdk synth`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from comeback.routes import ROUTES
from infra_support import FUNCTION_NAMES, TABLE_ACCESS, cdk_context

import app as entry
from infra.lambdas import SourcePaths

# Long enough to say why, not just "not needed".
MIN_REASON_LENGTH = 80
REPORT_FILE = "validation-report.json"


def _acknowledgments(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(resource type, rule id, reason) for each acknowledgment cdk-nag wrote to the template."""
    return [
        (resource["Type"], rule["id"], rule["reason"])
        for resource in template["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]


@pytest.fixture(scope="module")
def nagged(sources: SourcePaths, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # Given the app with the cdk-nag plugin registered, as app.py builds it
    outdir = Path(tmp_path_factory.mktemp("cdk.out"))
    app, stack = entry.build_app(
        cdk.App(context=cdk_context(), outdir=str(outdir)), sources=sources
    )
    # When it is synthesized
    try:
        assembly = app.synth()
    except RuntimeError as error:
        report = (outdir / REPORT_FILE).read_text() if (outdir / REPORT_FILE).exists() else ""
        pytest.fail(f"cdk-nag findings fail the synth: {error}\n{report}")
    return {
        "template": assembly.get_stack_by_name(stack.stack_name).template,
        "report": json.loads((outdir / REPORT_FILE).read_text()),
        "timers_table_id": stack.get_logical_id(
            stack.storage.timers_table.node.default_child  # type: ignore[arg-type]
        ),
    }


def test_cdk_nag_reports_no_unacknowledged_finding(nagged: dict[str, Any]) -> None:
    # Then synth succeeded and no validation plugin reported a violation
    assert nagged["report"]["pluginReports"] == []


def test_only_the_reviewed_findings_are_acknowledged_each_with_a_reason(
    nagged: dict[str, Any],
) -> None:
    acknowledgments = _acknowledgments(nagged["template"])
    # Then each acknowledgment sits on the one resource it is about...
    counted = Counter(
        (resource_type, rule_id.split("[")[0]) for resource_type, rule_id, _ in acknowledgments
    )
    assert counted == {
        # No authorizer: write keys and signed tokens are checked in the Lambdas.
        ("AWS::ApiGatewayV2::Route", "AwsSolutions-APIG4"): len(ROUTES),
        # Python 3.13 rather than the newest runtime, to match the deps layer's wheels.
        ("AWS::Lambda::Function", "AwsSolutions-L1"): len(FUNCTION_NAMES),
        # Grants on the timers table cover its due index with `<table>/index/*`; the main
        # table has no index, so its grants name its ARN alone.
        # Plus the sender's SMS policy: SNS only authorizes SMS on resource "*".
        ("AWS::IAM::Policy", "AwsSolutions-IAM5"): sum(
            "timers_table" in access for access in TABLE_ACCESS.values()
        )
        + 1,
        # The link signing key, the VAPID key pair and the platforms' webhook secrets are
        # not rotated automatically.
        ("AWS::SecretsManager::Secret", "AwsSolutions-SMG4"): 3,
    }
    # ...and says why
    for _, rule_id, reason in acknowledgments:
        assert len(reason) >= MIN_REASON_LENGTH, rule_id
    iam_findings = {rule_id for _, rule_id, _ in acknowledgments if "IAM5" in rule_id}
    assert iam_findings == {
        f"AwsSolutions-IAM5[Resource::<{nagged['timers_table_id']}.Arn>/index/*]",
        "AwsSolutions-IAM5[Resource::*]",
    }
