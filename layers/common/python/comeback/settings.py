"""Typed configuration of each Lambda function, read from its environment at cold start.

The CDK stack sets these variables (see `infra/`); the local runner sets the same ones to point at
moto's server. `AWS_ENDPOINT_URL` is honoured by boto3 itself, so pointing the code at a local
AWS is configuration, not a code path.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Literal, TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "COMEBACK_"


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)


class StoreSettings(_Settings):
    table_name: str = Field(description="DynamoDB table holding shops, profiles and events")
    timers_table_name: str = Field(description="DynamoDB table of timers and its due index")
    # Which browser push services we accept subscriptions for and POST to: the known public
    # push services in AWS, only 127.0.0.1 in a local run (nothing leaves the machine).
    push_endpoints: Literal["push_services", "loopback"] = "push_services"
    # With `loopback`: the one local push service accepted (not any server on this machine).
    local_push_origin: str | None = None


class IntakeSettings(StoreSettings):
    events_queue_url: str = Field(description="SQS queue the accepted events are put on")
    vapid_secret_arn: str | None = Field(
        default=None, description="Secrets Manager secret with the VAPID keys (public key served)"
    )


class WebhookSettings(StoreSettings):
    events_queue_url: str = Field(description="SQS queue the platforms' events are put on")
    send_queue_url: str = Field(
        description="SQS queue of message jobs: back-in-stock and price-drop alerts go on it"
    )
    webhook_secret_arn: str = Field(
        description="Secrets Manager secret with each shop's webhook secrets, as JSON"
        ' {"<shop_id>": {"shopify": "...", "woocommerce": "..."}} (`comeback webhook-secret`)'
    )


class ProcessorSettings(StoreSettings):
    event_retention_days: int = Field(default=400, ge=1, le=3650)
    # Where order-status messages are queued (none: they are not sent).
    send_queue_url: str | None = None

    @property
    def event_retention(self) -> timedelta:
        return timedelta(days=self.event_retention_days)


class SweepSettings(StoreSettings):
    send_queue_url: str
    claim_lease_seconds: int = Field(default=900, ge=60, le=43_200)
    max_items_per_run: int = Field(default=5_000, ge=1)

    @property
    def claim_lease(self) -> timedelta:
        return timedelta(seconds=self.claim_lease_seconds)


class SenderSettings(StoreSettings):
    signing_secret_arn: str = Field(description="Secrets Manager secret with the HMAC key")
    public_base_url: str = Field(description="Base URL of the HTTP API, for links in messages")
    ses_configuration_set: str | None = None
    send_record_retention_days: int = Field(default=400, ge=1, le=3650)
    default_from_address: str | None = Field(
        default=None, description="Used for shops that set no from_address of their own"
    )
    send_queue_url: str | None = Field(
        default=None, description="The queue the jobs come from: a retry is delayed on it"
    )
    vapid_secret_arn: str | None = Field(
        default=None,
        description="Secrets Manager secret holding the VAPID key pair (`comeback vapid-keys`);"
        " push is off while it is unset or empty",
    )
    sms_enabled: bool = Field(default=True, description="Send SMS through Amazon SNS")


class UnsubscribeSettings(StoreSettings):
    signing_secret_arn: str


class WebSettings(StoreSettings):
    """The browser snippet's function: reads shops, keys and profiles, writes nothing."""

    asset_cache_seconds: int = Field(
        default=300, ge=0, le=86_400, description="How long browsers may cache the scripts"
    )


class PrivacySettings(StoreSettings):
    """The privacy API: reads and deletes a person's items in both tables."""


class ReportingSettings(StoreSettings):
    """The KPI API: reads the shop's profiles, send records and raw events, writes nothing."""


class ValuationSettings(StoreSettings):
    """The weekly value fit: how far ahead predicted value looks, and how it is discounted."""

    value_horizon_weeks: int = Field(default=52, ge=1, le=520)
    # 10% a year, compounded weekly.
    value_discount_rate_per_week: float = Field(default=0.00183, ge=0.0, le=0.1)


SettingsT = TypeVar("SettingsT", bound=_Settings)


@cache
def load(kind: type[SettingsT]) -> SettingsT:
    """The settings of one kind, validated once per cold start."""
    return kind()


class FeedbackSettings(StoreSettings):
    """The feedback function (SES bounces and complaints) writes suppressions to the main
    table and needs nothing else; it reads the shared store settings like every function."""
