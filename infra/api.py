"""The public HTTP API: one route per `comeback.routes.ROUTES` entry, served by two functions."""

from __future__ import annotations

import json

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from comeback.routes import ROUTES
from comeback.settings import (
    IntakeSettings,
    PrivacySettings,
    ReportingSettings,
    UnsubscribeSettings,
    WebhookSettings,
    WebSettings,
)
from constructs import Construct

from infra.lambdas import LOG_RETENTION, ComebackFunction, FunctionDefaults, settings_environment
from infra.nag import acknowledge
from infra.queues import WorkQueue
from infra.storage import Storage

# API Gateway stops waiting for an integration after 30 s; both handlers answer within a second.
HANDLER_TIMEOUT_SECONDS = 10
# API Gateway's HTTP API waits at most 30 s for an integration.
PRIVACY_TIMEOUT_SECONDS = 29
# Stage-wide default limits per second; a shop's SDK sends events in batches.
THROTTLE_RATE_LIMIT = 200
THROTTLE_BURST_LIMIT = 400
# How long browsers may cache a CORS preflight answer.
CORS_MAX_AGE_HOURS = 24

# HTTP API access log fields ($context variables of HTTP APIs), one JSON object a line.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
}

NO_AUTHORIZER_REASONS = {
    "intake": (
        "Tracking calls come from shops' servers and from browser SDKs, which cannot hold AWS "
        "credentials or tokens: the intake Lambda authenticates each call by the shop's write "
        "key and rejects unknown keys before anything is stored."
    ),
    "unsubscribe": (
        "Unsubscribe, tracked and restore-cart links are opened from messages by recipients "
        "with no account: each link carries an HMAC-signed token (key in Secrets Manager) that "
        "the Lambda verifies, as one-click unsubscribe (RFC 8058) requires."
    ),
    "web": (
        "The browser snippet, its service worker code and its settings are fetched by "
        "shoppers' browsers on the shop's pages, which hold no credentials: the scripts are "
        "public files, and the settings and on-site answers need the shop's public write key, "
        "read nothing personal out and change nothing (the function may only read the table)."
    ),
    "privacy": (
        "Called by the shop's own backend, which authenticates with the shop's secret key (HTTP "
        "Basic user name); the Lambda refuses the public write key and unknown keys before "
        "reading anything, and only ever reads or erases that shop's people."
    ),
    "reporting": (
        "Called by the shop's own backend or its owner's tools, which authenticate with the "
        "shop's secret key (HTTP Basic user name); the Lambda refuses the public write key and "
        "unknown keys before reading anything, only reads, and only that shop's items."
    ),
    "webhooks": (
        "Shop platforms (Shopify, WooCommerce) post webhooks with no AWS credentials or "
        "tokens: each delivery carries the platform's HMAC-SHA256 signature of the raw body, "
        "made with the shop's webhook secret (in Secrets Manager), which the Lambda verifies "
        "in constant time before anything is stored; unsigned or forged deliveries get 401. "
        "Its product and settings APIs (POST /v1/products, GET and PATCH /v1/settings) are "
        "called by the shop's own backend with the shop's secret key (HTTP Basic user name); "
        "the public write key and unknown keys are refused before anything is read or stored, "
        "and a settings change only ever reaches the shop the key belongs to."
    ),
}


class WebhookSecret(Construct):
    """Every shop's webhook secrets, one JSON document (`comeback webhook-secret` adds each).
    It starts as a random placeholder that holds no shop: webhooks are refused until then."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="Comeback shops' Shopify/WooCommerce webhook secrets (JSON), written by "
            "`comeback webhook-secret`",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=32, exclude_punctuation=True, include_space=False
            ),
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "The secrets inside are the ones each shop's platform signs with (Shopify issues "
            "its own, WooCommerce keeps what was pasted); a Lambda rotation could not change "
            "them at the platform, so every webhook would fail. They are rotated with the "
            "platform by `comeback webhook-secret`. Only the webhooks role may read it.",
        )


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """`IAccessLogSettings` is an interface, not a struct, so Python must implement it."""

    def __init__(
        self, *, destination: apigwv2.IAccessLogDestination, log_format: apigw.AccessLogFormat
    ) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        events: WorkQueue,
        send: WorkQueue,
        signing_secret: secretsmanager.ISecret,
        vapid_secret: secretsmanager.ISecret,
        defaults: FunctionDefaults,
    ) -> None:
        super().__init__(scope, construct_id)
        timeout = Duration.seconds(HANDLER_TIMEOUT_SECONDS)

        self.intake = ComebackFunction(
            self,
            "Intake",
            name="intake",
            defaults=defaults,
            description="Authenticates, validates and enqueues tracking calls",
            timeout=timeout,
            environment=settings_environment(
                IntakeSettings,
                **storage.table_names,
                events_queue_url=events.queue.queue_url,
                vapid_secret_arn=vapid_secret.secret_arn,
            ),
        )
        # Serves the VAPID public key to shops' pages (the private half is in the same JSON).
        vapid_secret.grant_read(self.intake.function)
        # It only looks up write keys; the timers table name is in its settings, unused.
        storage.grant(storage.table, self.intake)
        events.queue.grant_send_messages(self.intake.function)

        self.unsubscribe = ComebackFunction(
            self,
            "Unsubscribe",
            name="unsubscribe",
            defaults=defaults,
            description="Verifies signed unsubscribe links and records the opt-out",
            timeout=timeout,
            environment=settings_environment(
                UnsubscribeSettings,
                **storage.table_names,
                signing_secret_arn=signing_secret.secret_arn,
            ),
        )
        # Records the opt-out on the profile; it touches no timer.
        storage.grant(storage.table, self.unsubscribe, write=True)
        signing_secret.grant_read(self.unsubscribe.function)

        self.web = ComebackFunction(
            self,
            "Web",
            name="web",
            defaults=defaults,
            description="Serves the browser snippet, its settings and on-site messages",
            timeout=timeout,
            environment=settings_environment(WebSettings, **storage.table_names),
        )
        # Looks up write keys, shops and a visitor's profile; it writes nothing.
        storage.grant(storage.table, self.web)

        # Privacy rights API: erasing a person is long-running work (a filtered scan for their
        # raw events), so it gets the API's whole integration time.
        self.privacy = ComebackFunction(
            self,
            "Privacy",
            name="privacy",
            defaults=defaults,
            description="Reads, exports and erases a person's data (shop secret key only)",
            timeout=Duration.seconds(PRIVACY_TIMEOUT_SECONDS),
            environment=settings_environment(PrivacySettings, **storage.table_names),
        )
        # Finds everything about a person in both tables and deletes it.
        storage.grant(storage.table, self.privacy, write=True)
        storage.grant(storage.timers_table, self.privacy, write=True)

        # Shop KPIs: one filtered scan of the table per report, so it gets the API's whole
        # integration time too.
        self.reporting = ComebackFunction(
            self,
            "Reporting",
            name="reporting",
            defaults=defaults,
            description="Computes a shop's KPIs over a date range (shop secret key only)",
            timeout=Duration.seconds(PRIVACY_TIMEOUT_SECONDS),
            environment=settings_environment(ReportingSettings, **storage.table_names),
        )
        # Reads keys, the shop, its profiles, send records and raw events; writes nothing.
        storage.grant(storage.table, self.reporting)

        self.webhook_secret = WebhookSecret(self, "WebhookSecret").secret
        self.webhooks = ComebackFunction(
            self,
            "Webhooks",
            name="webhooks",
            defaults=defaults,
            description="Verifies Shopify and WooCommerce webhooks, takes product updates "
            "and queues their events and product alerts",
            timeout=timeout,
            environment=settings_environment(
                WebhookSettings,
                **storage.table_names,
                events_queue_url=events.queue.queue_url,
                send_queue_url=send.queue.queue_url,
                webhook_secret_arn=self.webhook_secret.secret_arn,
            ),
        )
        # Looks up shops, writes catalogue products and changes a shop's settings (a
        # conditional update of its shop item); it touches no timer.
        storage.grant(storage.table, self.webhooks, write=True)
        events.queue.grant_send_messages(self.webhooks.function)
        # A product change worth it puts one alert job per watcher on the send queue.
        send.queue.grant_send_messages(self.webhooks.function)
        self.webhook_secret.grant_read(self.webhooks.function)

        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=f"{Stack.of(self).stack_name}-api",
            description="Comeback tracking and unsubscribe API",
            create_default_stage=False,
            # Browser SDKs post tracking calls from the shop's own pages, on any domain.
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=["*"],
                allow_methods=[apigwv2.CorsHttpMethod.POST, apigwv2.CorsHttpMethod.GET],
                allow_headers=["authorization", "content-type"],
                max_age=Duration.hours(CORS_MAX_AGE_HOURS),
            ),
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=THROTTLE_RATE_LIMIT, burst_limit=THROTTLE_BURST_LIMIT
            ),
            access_log_settings=_AccessLogSettings(
                destination=apigwv2.LogGroupLogDestination(self.access_logs),
                log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
        )

        handlers = {
            "intake": self.intake,
            "unsubscribe": self.unsubscribe,
            "webhooks": self.webhooks,
            "web": self.web,
            "privacy": self.privacy,
            "reporting": self.reporting,
        }
        routed = {route.function for route in ROUTES}
        if unknown := sorted(routed - set(handlers)):
            raise ValueError(f"comeback.routes.ROUTES names functions the API lacks: {unknown}")
        integrations_by_name = {
            name: integrations.HttpLambdaIntegration(f"{name}-integration", handlers[name].function)
            for name in sorted(routed)
        }
        for route in ROUTES:
            (http_route,) = self.http_api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod[route.method]],
                integration=integrations_by_name[route.function],
            )
            acknowledge(http_route, "AwsSolutions-APIG4", NO_AUTHORIZER_REASONS[route.function])

    @property
    def base_url(self) -> str:
        """The API's URL without a trailing slash (the `$default` stage serves the root)."""
        return self.http_api.api_endpoint
