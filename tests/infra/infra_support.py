"""Constants and helpers shared by the infrastructure tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json

from infra import REPO_ROOT

TEST_SENDER_DOMAIN = "mail.shop.test"
FUNCTION_NAMES = (
    "intake",
    "processor",
    "sweep",
    "sender",
    "unsubscribe",
    "feedback",
    "webhooks",
    "web",
    "valuation",
    "privacy",
    "reporting",
)
PLACEHOLDER_HANDLER = "def handler(event, context):\n    return None\n"

READ = "read"
READ_WRITE = "read_write"
# `UpdateItem` alone: a function whose one table operation is a conditional update.
UPDATE_ONLY = "update_only"
# What each function may do on the main table and on the timers table (absent: nothing).
TABLE_ACCESS: dict[str, dict[str, str]] = {
    "intake": {"table": READ},
    "processor": {"table": READ_WRITE, "timers_table": READ_WRITE},
    "sweep": {"table": READ, "timers_table": READ_WRITE},
    "sender": {"table": READ_WRITE, "timers_table": READ_WRITE},
    "unsubscribe": {"table": READ_WRITE},
    "feedback": {"table": UPDATE_ONLY},
    "webhooks": {"table": READ_WRITE},
    "web": {"table": READ},
    "valuation": {"table": READ_WRITE},
    "privacy": {"table": READ_WRITE, "timers_table": READ_WRITE},
    "reporting": {"table": READ},
}


def cdk_context(**overrides: object) -> dict[str, object]:
    """The context cdk.json gives the CLI (feature flags included), plus test settings."""
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    context["senderDomain"] = TEST_SENDER_DOMAIN
    context["@aws-cdk/core:validationReportPrettyPrint"] = False
    return {**context, **overrides}
