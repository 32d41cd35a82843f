#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` and `npx cdk deploy` run this (see cdk.json).

cdk-nag's AWS Solutions checks run as a validation plugin: any finding that is neither fixed
nor acknowledged with a reason (see `infra.nag`) fails the synth.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra import config
from infra.lambdas import MissingSourceError, SourcePaths
from infra.stack import ComebackStack

STACK_NAME = "Comeback"
STACK_DESCRIPTION = "Comeback: self-hosted re-engagement engine for online shops"


def build_app(
    app: cdk.App | None = None, *, sources: SourcePaths | None = None
) -> tuple[cdk.App, ComebackStack]:
    """The app with its one stack and the cdk-nag plugin registered (not yet synthesized)."""
    app = app or cdk.App()
    stack = ComebackStack(
        app,
        STACK_NAME,
        sender_domain=config.sender_domain(app.node),
        alarm_email=config.alarm_email(app.node),
        sources=sources,
        description=STACK_DESCRIPTION,
    )
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True)
    )
    return app, stack


def main() -> int:
    try:
        app, _ = build_app()
    except (config.ConfigError, MissingSourceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
