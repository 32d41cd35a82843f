"""Deployment settings from CDK context, and the cdk.json that carries them."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from comeback.settings import IntakeSettings

from infra import REPO_ROOT
from infra.config import (
    ALARM_EMAIL_CONTEXT,
    SENDER_DOMAIN_CONTEXT,
    SENDER_DOMAIN_PLACEHOLDER,
    ConfigError,
    alarm_email,
    sender_domain,
)
from infra.lambdas import settings_environment

CDK_JSON = json.loads((REPO_ROOT / "cdk.json").read_text())


def _node(**context: object) -> cdk.App:
    return cdk.App(context=context).node


def test_cdk_json_ships_the_placeholder_the_app_refuses() -> None:
    # Given the sender domain cdk.json ships with
    shipped = CDK_JSON["context"][SENDER_DOMAIN_CONTEXT]
    # Then it is the known placeholder, and synthesizing with it says what to do
    assert shipped == SENDER_DOMAIN_PLACEHOLDER
    with pytest.raises(ConfigError, match="placeholder"):
        sender_domain(_node(**{SENDER_DOMAIN_CONTEXT: shipped}))


def test_a_missing_sender_domain_says_how_to_set_it() -> None:
    with pytest.raises(ConfigError, match=f"-c {SENDER_DOMAIN_CONTEXT}="):
        sender_domain(_node())


@pytest.mark.parametrize("value", ["localhost", "mail..shop.com", "-mail.shop.com", "a b.com"])
def test_a_sender_domain_that_is_no_domain_name_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="not a domain name"):
        sender_domain(_node(**{SENDER_DOMAIN_CONTEXT: value}))


def test_a_sender_domain_is_normalised() -> None:
    assert sender_domain(_node(**{SENDER_DOMAIN_CONTEXT: " Mail.Shop.COM. "})) == "mail.shop.com"


def test_alarm_email_is_optional_but_checked() -> None:
    assert alarm_email(_node()) is None
    assert alarm_email(_node(**{ALARM_EMAIL_CONTEXT: "ops@shop.com"})) == "ops@shop.com"
    with pytest.raises(ConfigError):
        alarm_email(_node(**{ALARM_EMAIL_CONTEXT: "ops"}))


def test_cdk_json_keeps_the_cli_offline_and_runs_the_app_in_the_project_venv() -> None:
    assert CDK_JSON["notices"] is False
    assert CDK_JSON["versionReporting"] is False
    assert CDK_JSON["context"]["cli-telemetry"] is False
    assert CDK_JSON["app"].startswith("uv run ")
    assert CDK_JSON["app"].endswith("app.py")


def test_settings_environment_names_variables_as_the_settings_model_reads_them() -> None:
    environment = settings_environment(
        IntakeSettings, table_name="t", timers_table_name="tt", events_queue_url="q"
    )
    assert environment == {
        "COMEBACK_TABLE_NAME": "t",
        "COMEBACK_TIMERS_TABLE_NAME": "tt",
        "COMEBACK_EVENTS_QUEUE_URL": "q",
    }


def test_settings_environment_refuses_unknown_and_missing_settings() -> None:
    with pytest.raises(ValueError, match="no such setting"):
        settings_environment(
            IntakeSettings, table_name="t", timers_table_name="tt", events_queue_url="q", typo="x"
        )
    with pytest.raises(ValueError, match=r"no value for required setting \['events_queue_url'\]"):
        settings_environment(IntakeSettings, table_name="t", timers_table_name="tt")
    with pytest.raises(ValueError, match=r"\['timers_table_name'\]"):
        settings_environment(IntakeSettings, table_name="t", events_queue_url="q")
