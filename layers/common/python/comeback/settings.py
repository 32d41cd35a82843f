"""Typed configuration of each Lambda function, read from its environment at cold start.

The CDK stack sets these variables (see `infra/`); the local runner sets the same ones to point at
moto's server. `AWS_ENDPOINT_URL` is honoured by boto3 itself, so pointing the code at a local
AWS is configuration, not a code path.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "COMEBACK_"


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)


class StoreSettings(_Settings):
    table_name: str = Field(description="DynamoDB table holding shops, profiles and timers")


class IntakeSettings(StoreSettings):
    events_queue_url: str = Field(description="SQS queue the accepted events are put on")


class ProcessorSettings(StoreSettings):
    event_retention_days: int = Field(default=400, ge=1, le=3650)


class SweepSettings(StoreSettings):
    send_queue_url: str
    claim_lease_seconds: int = Field(default=900, ge=60, le=43_200)
    max_items_per_run: int = Field(default=5_000, ge=1)


class SenderSettings(StoreSettings):
    signing_secret_arn: str = Field(description="Secrets Manager secret with the HMAC key")
    public_base_url: str = Field(description="Base URL of the HTTP API, for links in messages")
    ses_configuration_set: str | None = None
    send_record_retention_days: int = Field(default=400, ge=1, le=3650)


class UnsubscribeSettings(StoreSettings):
    signing_secret_arn: str


SettingsT = TypeVar("SettingsT", bound=_Settings)


@lru_cache(maxsize=None)
def load(kind: type[SettingsT]) -> SettingsT:
    """The settings of one kind, validated once per cold start."""
    return kind()
