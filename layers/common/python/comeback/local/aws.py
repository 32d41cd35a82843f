"""The embedded AWS: moto's server on 127.0.0.1, provisioned like the CDK stack.

Table keys and indexes come from `comeback.schema`, the same module `infra/` builds the real
table from, so the two cannot drift apart.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from comeback.adapters.webpush import VapidKeys
from comeback.schema import (
    EVENTS_QUEUE,
    SEND_QUEUE,
    TABLE,
    TIMERS_TABLE,
    QueueSpec,
    dynamodb_create_table_args,
)

REGION = "us-east-1"
TABLE_NAME = "comeback"
TIMERS_TABLE_NAME = "comeback-timers"
SIGNING_SECRET_NAME = "comeback/signing-key"  # noqa: S105 - a name, not a secret
CONFIGURATION_SET = "comeback"
VAPID_SECRET_NAME = "comeback/vapid-keys"  # noqa: S105 - a name, not a secret
WEBHOOK_SECRET_NAME = "comeback/webhook-secrets"  # noqa: S105 - a name, not a secret
STARTUP_SECONDS = 30


@dataclass(frozen=True)
class LocalAws:
    endpoint: str
    table_name: str
    timers_table_name: str
    events_queue_url: str
    events_dlq_url: str
    send_queue_url: str
    send_dlq_url: str
    signing_secret_arn: str
    configuration_set: str
    vapid_secret_arn: str
    webhook_secret_arn: str = ""

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
        )


class MotoServer:
    """moto's server in a process of its own, on 127.0.0.1: the embedded AWS gets a core of its
    own instead of sharing this process's interpreter lock with the handlers."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-c",
                "from moto.server import main; main()",
                "-H",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(),
            # Its own process group: Ctrl-C in a terminal reaches this process, which then
            # stops the server itself, instead of killing the server under a running call.
            process_group=0,
        )
        atexit.register(self.stop)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("moto's server exited while starting")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto's server did not answer within {STARTUP_SECONDS} s")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, the embedded AWS ends when the process that started it ends, however it
    ends (a killed test run must not leave a server behind). The C function is looked up
    here, in the parent, so that the forked child only makes one system call."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_death_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_death_signal


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def use_endpoint(endpoint: str) -> None:
    """Point every boto3 client of this process at the embedded AWS (configuration only)."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
    )
    os.environ.pop("AWS_PROFILE", None)


def provision(endpoint: str, *, sender_domains: list[str]) -> LocalAws:
    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
        )

    dynamodb = client("dynamodb")
    dynamodb.create_table(**dynamodb_create_table_args(TABLE_NAME, TABLE))
    dynamodb.create_table(**dynamodb_create_table_args(TIMERS_TABLE_NAME, TIMERS_TABLE))
    sqs = client("sqs")
    events_url, events_dlq = _queue_with_dlq(sqs, EVENTS_QUEUE)
    send_url, send_dlq = _queue_with_dlq(sqs, SEND_QUEUE)
    secret = client("secretsmanager").create_secret(
        Name=SIGNING_SECRET_NAME, SecretString=secrets.token_urlsafe(48)
    )
    # What `comeback vapid-keys` puts in the stack's secret in AWS.
    vapid = client("secretsmanager").create_secret(
        Name=VAPID_SECRET_NAME, SecretString=VapidKeys.generate_local().to_json()
    )
    # A placeholder, as the stack's: `comeback webhook-secret` adds each shop's secrets.
    webhooks = client("secretsmanager").create_secret(
        Name=WEBHOOK_SECRET_NAME, SecretString=secrets.token_urlsafe(24)
    )
    ses = client("sesv2")
    ses.create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
    for domain in sender_domains:
        ses.create_email_identity(EmailIdentity=domain)
        # moto's SES v1 backend is the one that checks identities when sending.
        client("ses").verify_domain_identity(Domain=domain)
    return LocalAws(
        endpoint=endpoint,
        table_name=TABLE_NAME,
        timers_table_name=TIMERS_TABLE_NAME,
        events_queue_url=events_url,
        events_dlq_url=events_dlq,
        send_queue_url=send_url,
        send_dlq_url=send_dlq,
        signing_secret_arn=secret["ARN"],
        configuration_set=CONFIGURATION_SET,
        vapid_secret_arn=vapid["ARN"],
        webhook_secret_arn=webhooks["ARN"],
    )


def _queue_with_dlq(sqs: Any, spec: QueueSpec) -> tuple[str, str]:
    dlq_url = sqs.create_queue(QueueName=f"{spec.name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=spec.name,
        Attributes={
            "VisibilityTimeout": str(spec.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
            ),
        },
    )["QueueUrl"]
    return url, dlq_url


def function_environment(aws: LocalAws, *, public_base_url: str) -> dict[str, str]:
    """The variables the CDK stack gives the functions, pointing at the local resources."""
    return {
        "COMEBACK_TABLE_NAME": aws.table_name,
        "COMEBACK_TIMERS_TABLE_NAME": aws.timers_table_name,
        "COMEBACK_EVENTS_QUEUE_URL": aws.events_queue_url,
        "COMEBACK_SEND_QUEUE_URL": aws.send_queue_url,
        "COMEBACK_SIGNING_SECRET_ARN": aws.signing_secret_arn,
        "COMEBACK_PUBLIC_BASE_URL": public_base_url,
        "COMEBACK_SES_CONFIGURATION_SET": aws.configuration_set,
        "COMEBACK_VAPID_SECRET_ARN": aws.vapid_secret_arn,
        "COMEBACK_WEBHOOK_SECRET_ARN": aws.webhook_secret_arn,
        # Nothing leaves this machine: push endpoints on 127.0.0.1 only.
        "COMEBACK_PUSH_ENDPOINTS": "loopback",
        "POWERTOOLS_SERVICE_NAME": "comeback",
        "POWERTOOLS_METRICS_NAMESPACE": "Comeback",
    }
